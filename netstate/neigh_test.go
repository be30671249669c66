package netstate

import (
	"net/netip"
	"testing"
)

// sourceSpecificHost is a host with two upstream routers on one link (eth0,
// index 2), each with a default route for the sources of its own prefix
// (source-specific routing, "ip -6 route add default from P via R"), and a
// default route for all sources through a third, of a higher metric.
func sourceSpecificHost() *Snapshot {
	ll := func(s string) netip.Addr { return netip.MustParseAddr(s).WithZone("eth0") }
	return &Snapshot{
		Links: []Link{{Index: 2, Name: "eth0", Up: true, Running: true}},
		Addrs: []Addr{
			{IP: netip.MustParseAddr("2001:db8:a:1::100"), Bits: 64, Index: 2, Interface: "eth0"},
			{IP: netip.MustParseAddr("2001:db8:b:1::100"), Bits: 64, Index: 2, Interface: "eth0"},
			{IP: netip.MustParseAddr("2001:db8:c:1::100"), Bits: 64, Index: 2, Interface: "eth0"},
		},
		Routes: []Route{
			{Dst: netip.MustParsePrefix("::/0"), Gateway: ll("fe80::c"), Index: 2, Priority: 1024},
			{Dst: netip.MustParsePrefix("::/0"), From: netip.MustParsePrefix("2001:db8:a::/48"), Gateway: ll("fe80::a"), Index: 2, Priority: 1024},
			{Dst: netip.MustParsePrefix("::/0"), From: netip.MustParsePrefix("2001:db8:b::/48"), Gateway: ll("fe80::b"), Index: 2, Priority: 1024},
			{Dst: netip.MustParsePrefix("::/0"), From: netip.MustParsePrefix("2001:db8::/32"), Gateway: ll("fe80::d"), Index: 2, Priority: 1},
		},
		Neighbors: []Neighbor{
			{Index: 2, IP: ll("fe80::a"), HWAddr: "02:00:00:00:00:0a", State: NeighFailed},
			{Index: 2, IP: ll("fe80::b"), HWAddr: "02:00:00:00:00:0b", State: NeighReachable},
		},
	}
}

// TestRouterOf checks that a source address's router is that of the most
// specific default route for it (Route.From), not the link's, and that its
// neighbour state and Network follow.
func TestRouterOf(t *testing.T) {
	s := sourceSpecificHost()
	for i, want := range []struct {
		router string
		state  NeighState
	}{
		{"fe80::a", NeighFailed},    // 2001:db8:a::/48 over 2001:db8::/32 and all sources
		{"fe80::b", NeighReachable}, // 2001:db8:b::/48
		{"fe80::d", NeighNone},      // 2001:db8::/32, over all sources whatever the metric
	} {
		a := s.Addrs[i]
		gw, ok := s.RouterOf(a)
		if !ok || gw != netip.MustParseAddr(want.router).WithZone("eth0") {
			t.Errorf("RouterOf(%v) = %v, %v; want %s%%eth0", a.IP, gw, ok, want.router)
		}
		if st := s.RouterStateOf(a); st != want.state {
			t.Errorf("RouterStateOf(%v) = %v, want %v", a.IP, st, want.state)
		}
		if n := s.NetworkOf(a); n.Router != netip.MustParseAddr(want.router) {
			t.Errorf("NetworkOf(%v).Router = %v, want %s", a.IP, n.Router, want.router)
		}
	}
	// An address outside every From has the route for all sources; without
	// that route, none.
	other := Addr{IP: netip.MustParseAddr("2001:db9::100"), Bits: 64, Index: 2, Interface: "eth0"}
	if gw, ok := s.RouterOf(other); !ok || gw.WithZone("") != netip.MustParseAddr("fe80::c") {
		t.Errorf("RouterOf(%v) = %v, %v; want fe80::c", other.IP, gw, ok)
	}
	s.Routes = s.Routes[1:]
	if gw, ok := s.RouterOf(other); ok {
		t.Errorf("RouterOf(%v) = %v without a route for it", other.IP, gw)
	}
	// The link's router is still the lowest metric's, whatever its From.
	if gw, ok := s.Router(2, true); !ok || gw.WithZone("") != netip.MustParseAddr("fe80::d") {
		t.Errorf("Router(2) = %v, %v; want fe80::d", gw, ok)
	}
}

// TestRouterOfRules checks that RouterOf follows the policy rules to the table
// a source's default route is in ("ip rule add from A lookup T"), skips a
// table whose default route is suppressed, and keeps to the source's own
// link: a default route for the source through another link is not its
// router (a connect from it bound to its interface does not take it).
func TestRouterOfRules(t *testing.T) {
	addr := func(s string) Addr {
		return Addr{IP: netip.MustParseAddr(s), Bits: 24, Index: 2, Interface: "eth0"}
	}
	s := &Snapshot{
		Links: []Link{{Index: 2, Name: "eth0", Up: true, Running: true}, {Index: 3, Name: "eth1", Up: true, Running: true}},
		Addrs: []Addr{addr("192.168.1.10"), addr("192.168.1.20"), addr("192.168.1.30")},
		Rules: []Rule{
			{Priority: 0, Table: 255},
			{Priority: 100, Src: netip.MustParsePrefix("192.168.1.20/32"), Table: 100},
			{Priority: 110, Src: netip.MustParsePrefix("192.168.1.30/32"), Table: 254, Suppress: true},
			{Priority: 120, Src: netip.MustParsePrefix("192.168.1.30/32"), Table: 101},
			{Priority: 32766, Table: 254},
		},
		Routes: []Route{
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.1"), Index: 2, Priority: 100},
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.2"), Index: 2, Priority: 1024, Table: 100},
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.0.0.1"), Index: 3, Table: 101},
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.168.1.3"), Index: 2, Priority: 200, Table: 101},
		},
	}
	for i, want := range []string{"192.168.1.1", "192.168.1.2", "192.168.1.3"} {
		a := s.Addrs[i]
		if gw, ok := s.RouterOf(a); !ok || gw != netip.MustParseAddr(want) {
			t.Errorf("RouterOf(%v) = %v, %v; want %s", a.IP, gw, ok, want)
		}
	}
	// A blackhole rule for a source: no router.
	s.Rules = append([]Rule{{Priority: 50, Src: netip.MustParsePrefix("192.168.1.10/32"), Action: RuleBlackhole}}, s.Rules...)
	if gw, ok := s.RouterOf(s.Addrs[0]); ok {
		t.Errorf("RouterOf(%v) = %v behind a blackhole rule", s.Addrs[0].IP, gw)
	}
}
