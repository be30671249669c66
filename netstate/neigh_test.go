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
