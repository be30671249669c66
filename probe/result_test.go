package probe_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// opError wraps err the way a failed dial does.
func opError(err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestResultOf(t *testing.T) {
	tests := []struct {
		err  error
		want probe.Result
	}{
		{nil, probe.Success},
		{opError(syscall.ECONNREFUSED), probe.Refused},
		{opError(syscall.ETIMEDOUT), probe.Timeout},
		{&net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}, probe.Timeout},
		{context.DeadlineExceeded, probe.Timeout},
		{fmt.Errorf("attempt: %w", context.DeadlineExceeded), probe.Timeout},
		{context.Canceled, probe.Canceled},
		{&net.OpError{Op: "dial", Net: "tcp", Err: context.Canceled}, probe.Canceled},
		{opError(syscall.EHOSTUNREACH), probe.Unreachable},
		{opError(syscall.ENETUNREACH), probe.Unreachable},
		{opError(syscall.EADDRNOTAVAIL), probe.Unreachable},
		{opError(syscall.ENETDOWN), probe.Unreachable},
		{&netstate.RouteError{Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("198.51.100.1"), Kind: netstate.BlackholeErr}, probe.Unreachable},
		{opError(syscall.EMFILE), probe.OtherError},
		{errors.New("something else"), probe.OtherError},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := probe.ResultOf(tt.err); got != tt.want {
				t.Errorf("ResultOf(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// A real dial's errors, on loopback.
func TestResultOfLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // now nothing listens there: the kernel answers with a reset
	_, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if got := probe.ResultOf(err); got != probe.Refused {
		t.Errorf("ResultOf(%v) = %v, want refused", err, got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var d net.Dialer
	_, err = d.DialContext(ctx, "tcp", "127.0.0.1:1")
	if got := probe.ResultOf(err); got != probe.Canceled {
		t.Errorf("ResultOf(%v) = %v, want canceled", err, got)
	}
}
