package probe

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// TestDialTCPLoopback runs the default Dial on loopback: bound to the source, and
// to its interface where permitted.
func TestDialTCPLoopback(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	lo := netip.MustParseAddr("127.0.0.1")
	w := netstate.NewStatic(&netstate.Snapshot{
		Links: []netstate.Link{{Index: 1, Name: "lo", Up: true, Running: true, Loopback: true}},
		Addrs: []netstate.Addr{{IP: lo, Bits: 8, Index: 1, Interface: "lo"}},
	})
	p := &Prober{w: w, log: zap.NewNop()}
	dst := ln.Addr().(*net.TCPAddr).AddrPort()
	c, err := p.dialTCP(context.Background(), Path{Src: netip.AddrPortFrom(lo, 0), Dst: dst})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); got != lo {
		t.Errorf("local address %v, want %v", got, lo)
	}
	c.Close()
	<-accepted
	t.Logf("SO_BINDTODEVICE refused: %v", p.device.Refusal())

	ln.Close() // nothing listens any more: the kernel answers with a reset
	_, err = p.dialTCP(context.Background(), Path{Src: netip.AddrPortFrom(lo, 0), Dst: dst})
	if r := ResultOf(err); r != Refused {
		t.Errorf("dial to a closed port: %v (%v), want refused", r, err)
	}
}

// TestIfname checks the interface a probe binds to: SO_BINDTODEVICE takes a
// name, and a link-local source may carry its link's index as zone (netstate
// without netlink gives it so).
func TestIfname(t *testing.T) {
	ll := netip.MustParseAddr("fe80::a")
	w := netstate.NewStatic(&netstate.Snapshot{
		Links: []netstate.Link{{Index: 2, Name: "eth0", Up: true, Running: true}},
		Addrs: []netstate.Addr{{IP: ll.WithZone("2"), Bits: 64, Index: 2, Interface: "eth0"},
			{IP: netip.MustParseAddr("2001:db8::a"), Bits: 64, Index: 2, Interface: "eth0"}},
	})
	p := &Prober{w: w, log: zap.NewNop()}
	for _, tc := range []struct{ src, want string }{
		{"fe80::a%2", "eth0"},    // index zone, known
		{"fe80::a%eth0", "eth0"}, // name zone
		{"fe80::b%7", ""},        // index zone, unknown: no name to bind to
		{"fe80::b%wlan0", "wlan0"},
		{"2001:db8::a", "eth0"},
		{"2001:db8::b", ""},
	} {
		if got := p.ifname(Path{Src: netip.AddrPortFrom(netip.MustParseAddr(tc.src), 0)}); got != tc.want {
			t.Errorf("ifname(%s) = %q, want %q", tc.src, got, tc.want)
		}
	}
}

// TestFailedRouterFamilies checks that the re-check of a FAILED router goes
// from a source of the router's family: an IPv4 route via an IPv6 router (RFC
// 8950) gets no path from the IPv4 source (Go would refuse to dial it).
func TestFailedRouterFamilies(t *testing.T) {
	gw6 := netip.MustParseAddr("fe80::1%eth0")
	snap := &netstate.Snapshot{
		Links: []netstate.Link{{Index: 2, Name: "eth0", Up: true, Running: true}},
		Addrs: []netstate.Addr{{IP: netip.MustParseAddr("192.0.2.10"), Bits: 24, Index: 2, Interface: "eth0"},
			{IP: netip.MustParseAddr("2001:db8::10"), Bits: 64, Index: 2, Interface: "eth0"}},
		Routes: []netstate.Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: gw6, Index: 2},
			{Dst: netip.MustParsePrefix("::/0"), Gateway: gw6, Index: 2}},
		Neighbors: []netstate.Neighbor{{Index: 2, IP: gw6, State: netstate.NeighFailed}},
	}
	if p, ok := failedRouter(snap, netip.MustParseAddr("192.0.2.10"), 443); ok {
		t.Errorf("IPv4 source: %v, want no path", p)
	}
	if p, ok := failedRouter(snap, netip.MustParseAddr("2001:db8::10"), 443); !ok || p.Dst.Addr() != gw6 {
		t.Errorf("IPv6 source: %v, %v; want a path to %v", p, ok, gw6)
	}
}
