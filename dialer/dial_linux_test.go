package dialer

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/getapr/getapr/pairs"
)

// getsockoptInt reads an integer socket option of c.
func getsockoptInt(t *testing.T, c net.Conn, level, opt int) int {
	t.Helper()
	raw, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	if err := raw.Control(func(fd uintptr) { v, serr = unix.GetsockoptInt(int(fd), level, opt) }); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return v
}

// TestAttemptSocketSettings checks that each attempt's socket gets the user's
// control function (ControlContext over Control), the keep-alive settings and,
// for an ephemeral source port, IP_BIND_ADDRESS_NO_PORT.
func TestAttemptSocketSettings(t *testing.T) {
	ln := listenTCP(t, "127.0.0.1:0")
	dst := ln.Addr().(*net.TCPAddr).AddrPort()
	type call struct{ network, address string }
	var controls, contexts []call
	type ctxKey struct{}
	tests := []struct {
		name         string
		d            *PairDialer
		wantControls int
		wantContexts int
	}{
		{"Control", &PairDialer{Control: func(n, a string, _ syscall.RawConn) error {
			controls = append(controls, call{n, a})
			return nil
		}}, 1, 0},
		{"ControlContext wins", &PairDialer{
			Control: func(n, a string, _ syscall.RawConn) error { controls = append(controls, call{n, a}); return nil },
			ControlContext: func(ctx context.Context, n, a string, _ syscall.RawConn) error {
				if ctx.Value(ctxKey{}) == nil {
					t.Error("ControlContext did not get the dial's context")
				}
				contexts = append(contexts, call{n, a})
				return nil
			}}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			controls, contexts = nil, nil
			tt.d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: 7 * time.Second, Interval: 3 * time.Second, Count: 4}
			sel := &fakeSelector{pairs: []pairs.Pair{boundPair(dst)}}
			ctx := context.WithValue(t.Context(), ctxKey{}, true)
			c, err := tt.d.dialQuery(ctx, pairs.Query{Network: "tcp"}, "tcp", sel)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(controls) != tt.wantControls || len(contexts) != tt.wantContexts {
				t.Fatalf("Control called %d times, ControlContext %d; want %d and %d", len(controls), len(contexts), tt.wantControls, tt.wantContexts)
			}
			want := call{"tcp4", dst.String()}
			if got := append(controls, contexts...)[0]; got != want {
				t.Errorf("control called with %v, want %v", got, want)
			}
			if got := getsockoptInt(t, c, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE); got != 7 {
				t.Errorf("TCP_KEEPIDLE = %d, want 7", got)
			}
			if got := getsockoptInt(t, c, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT); got != 1 {
				t.Errorf("IP_BIND_ADDRESS_NO_PORT = %d, want 1", got)
			}
		})
	}
}

// TestConnectUDPNextPair: a UDP dial moves on when the kernel refuses a pair (a
// source that is not on this host) and connects the next one; nothing is sent.
func TestConnectUDPNextPair(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dst := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	foreign := pairs.Pair{Src: netip.MustParseAddrPort("192.0.2.1:0"), Dst: dst}
	sel := &fakeSelector{pairs: []pairs.Pair{foreign, loopbackPair(dst)}}
	c, err := (&PairDialer{}).dialQuery(t.Context(), pairs.Query{Network: "udp"}, "udp", sel)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.LocalAddr().(*net.UDPAddr).AddrPort().Addr(); got != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("bound %v, want 127.0.0.1", got)
	}
	if len(sel.outcomes) != 0 {
		t.Errorf("UDP reported outcomes %v, want none", sel.outcomes)
	}
	_, err = (&PairDialer{}).dialQuery(t.Context(), pairs.Query{Network: "udp"}, "udp", &fakeSelector{pairs: []pairs.Pair{foreign}})
	// One attempt: its error as net.Dialer gives it, the source it bound named.
	var oe *net.OpError
	if !errors.As(err, &oe) || !errors.Is(err, syscall.EADDRNOTAVAIL) || oe.Source.String() != "192.0.2.1:0" {
		t.Errorf("error %v, want the bind's EADDRNOTAVAIL from 192.0.2.1:0", err)
	}
	if _, ok := oe.Err.(*os.SyscallError); !ok {
		t.Errorf("Err is a %T, want the *os.SyscallError as net.Dialer's", oe.Err)
	}
}
