//go:build lab

package lab_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/lab"
	"github.com/getapr/getapr/internal/sockopt"
)

// hangTimeout is how long a connect that should hang is given.
const hangTimeout = 400 * time.Millisecond

// dial connects from src (port 0; invalid: unbound) to dst with a timeout and
// returns the connection and the handshake time.
func dial(src netip.Addr, dst netip.AddrPort, timeout time.Duration) (net.Conn, time.Duration, error) {
	d := net.Dialer{Timeout: timeout}
	if src.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
	}
	start := time.Now()
	c, err := d.DialContext(context.Background(), "tcp", dst.String())
	return c, time.Since(start), err
}

// peer connects from src to the peer-echo server at dst and returns the
// address the server saw.
func peer(t *testing.T, src, dst netip.Addr, port uint16) netip.AddrPort {
	t.Helper()
	c, _, err := dial(src, netip.AddrPortFrom(dst, port), 3*time.Second)
	if err != nil {
		t.Fatalf("dial %v -> %v: %v", src, dst, err)
	}
	defer c.Close()
	ap, err := lab.ReadPeer(c)
	if err != nil {
		t.Fatalf("%v -> %v: %v", src, dst, err)
	}
	return ap
}

// mustConnect fails the test unless src reaches the peer-echo server at dst.
func mustConnect(t *testing.T, src, dst netip.Addr, port uint16) {
	t.Helper()
	if got := peer(t, src, dst, port); got.Addr() == (netip.Addr{}) {
		t.Fatalf("%v -> %v: no peer address", src, dst)
	}
}

// mustHang fails the test unless a connect from src to dst times out.
func mustHang(t *testing.T, src netip.Addr, dst netip.AddrPort) {
	t.Helper()
	c, el, err := dial(src, dst, hangTimeout)
	if err == nil {
		c.Close()
		t.Fatalf("%v -> %v connected in %v; want a hang", src, dst, el)
	}
	if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
		t.Fatalf("%v -> %v: %v after %v; want a timeout", src, dst, err, el)
	}
}

// mustFail fails the test unless a connect from src to dst fails with want.
func mustFail(t *testing.T, src netip.Addr, dst netip.AddrPort, timeout time.Duration, want syscall.Errno) time.Duration {
	t.Helper()
	c, el, err := dial(src, dst, timeout)
	if err == nil {
		c.Close()
		t.Fatalf("%v -> %v connected; want %v", src, dst, want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("%v -> %v: %v after %v; want %v", src, dst, err, el, want)
	}
	return el
}

// handshakeMedian returns the median TCP handshake time of n connects from src
// to dst: as the kernel measured it (its RTT sample of the SYN, SYN-ACK
// exchange, which does not depend on when this process gets to run) and as
// this process saw it.
func handshakeMedian(t *testing.T, src netip.Addr, dst netip.AddrPort, n int) (kernel, wall time.Duration) {
	t.Helper()
	var ks, ws []time.Duration
	for range n {
		c, el, err := dial(src, dst, 3*time.Second)
		if err != nil {
			t.Fatalf("%v -> %v: %v", src, dst, err)
		}
		if rtt, ok := sockopt.KernelRTT(c); ok {
			ks = append(ks, rtt)
		}
		c.Close()
		ws = append(ws, el)
	}
	if len(ks) != n {
		t.Fatalf("no kernel RTT for %v -> %v", src, dst)
	}
	slices.Sort(ks)
	slices.Sort(ws)
	return ks[n/2], ws[n/2]
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
