package lab

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// tsCmsg builds the control message of a SO_TIMESTAMPNS stamp.
func tsCmsg(t time.Time) []byte {
	ts := unix.NsecToTimespec(t.UnixNano())
	size := int(unsafe.Sizeof(ts))
	b := make([]byte, unix.CmsgSpace(size))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SCM_TIMESTAMPNS
	h.SetLen(unix.CmsgLen(size))
	*(*unix.Timespec)(unsafe.Pointer(&b[unix.CmsgLen(0)])) = ts
	return b
}

func TestArrival(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		oob  []byte
		want time.Duration // arrival - now
	}{
		{"stamped", tsCmsg(now.Add(-3 * time.Millisecond)), -3 * time.Millisecond},
		{"none", nil, 0},
		{"future", tsCmsg(now.Add(time.Millisecond)), 0},
		{"stale", tsCmsg(now.Add(-2 * time.Second)), 0},
		{"garbage", []byte{1, 2, 3}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := arrival(tc.oob, now)
			if d := got.Sub(now); d != tc.want {
				t.Errorf("arrival - now = %v; want %v", d, tc.want)
			}
			if !strings.Contains(got.String(), " m=") {
				t.Error("arrival lost the monotonic clock reading")
			}
		})
	}
}
