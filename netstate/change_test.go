package netstate

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// changeHost is a host with two uplinks: eth0 (index 2) with a default router per
// family, eth1 (index 3) with an IPv6 one.
func changeHost() *Snapshot {
	return &Snapshot{
		Generation: 1,
		Links:      []Link{{Index: 2, Name: "eth0", Up: true, Running: true}, {Index: 3, Name: "eth1", Up: true, Running: true}},
		Addrs: []Addr{
			{IP: netip.MustParseAddr("10.1.0.100"), Bits: 24, Index: 2, Interface: "eth0"},
			{IP: netip.MustParseAddr("2001:db8:a:1::100"), Bits: 64, Index: 2, Interface: "eth0"},
			{IP: netip.MustParseAddr("2001:db8:b:1::100"), Bits: 64, Index: 3, Interface: "eth1"},
		},
		Routes: []Route{
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.1.0.1"), Index: 2, Priority: 100},
			{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fe80::a%eth0"), Index: 2, Priority: 100},
			{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fe80::b%eth1"), Index: 3, Priority: 200},
		},
		Gateway4: netip.MustParseAddr("10.1.0.1"),
		Gateway6: netip.MustParseAddr("fe80::a%eth0"),
		Neighbors: []Neighbor{
			{Index: 2, IP: netip.MustParseAddr("10.1.0.1"), HWAddr: "02:00:00:00:00:0a", State: NeighReachable},
			{Index: 2, IP: netip.MustParseAddr("fe80::a%eth0"), HWAddr: "02:00:00:00:00:0a", State: NeighReachable},
			{Index: 3, IP: netip.MustParseAddr("fe80::b%eth1"), HWAddr: "02:00:00:00:00:0b", State: NeighReachable},
		},
	}
}

// edit returns a copy of s (slices copied) changed by fn.
func edit(s *Snapshot, fn func(*Snapshot)) *Snapshot {
	c := *s
	c.Generation++
	c.Links, c.Addrs, c.Routes, c.Neighbors = slices.Clone(s.Links), slices.Clone(s.Addrs), slices.Clone(s.Routes), slices.Clone(s.Neighbors)
	fn(&c)
	return &c
}

func setRouter(index int, state NeighState) func(*Snapshot) {
	return func(s *Snapshot) {
		for i := range s.Neighbors {
			if s.Neighbors[i].Index == index && s.Neighbors[i].IP.Is6() {
				s.Neighbors[i].State = state
			}
		}
	}
}

func TestChangeDeltaRevived(t *testing.T) {
	base := changeHost()
	noCarrier := edit(base, func(s *Snapshot) { s.Links[0].Running = false })
	failed := edit(base, setRouter(3, NeighFailed))
	incomplete := edit(base, setRouter(3, NeighIncomplete))
	noAddr := edit(base, func(s *Snapshot) { s.Addrs = s.Addrs[1:] })
	tentative := edit(base, func(s *Snapshot) { s.Addrs[2].Flags = Tentative })
	noDefault := edit(base, func(s *Snapshot) { s.Routes = s.Routes[:2] })
	for _, c := range []struct {
		name     string
		old, new *Snapshot
		want     []int
	}{
		{"first snapshot", nil, base, nil},
		{"nothing", base, edit(base, func(*Snapshot) {}), nil},
		{"carrier lost", base, noCarrier, nil},
		{"carrier back", noCarrier, base, []int{2}},
		{"link up", edit(base, func(s *Snapshot) { s.Links[1].Up = false }), base, []int{3}},
		{"router failed", base, failed, nil},
		{"failed router reachable again", failed, base, []int{3}},
		{"failed router stale", failed, edit(base, setRouter(3, NeighStale)), []int{3}},
		{"failed router flushed", failed, edit(base, func(s *Snapshot) { s.Neighbors = s.Neighbors[:2] }), []int{3}},
		{"failed router retried", failed, incomplete, nil},
		{"retried router resolved", incomplete, base, []int{3}},
		{"stale router reachable", edit(base, setRouter(3, NeighStale)), base, nil},
		{"address re-added", noAddr, base, []int{2}},
		{"address no longer tentative", tentative, base, []int{3}},
		{"address removed", base, noAddr, nil},
		{"default route back", noDefault, base, []int{3}},
		{"but not while the link has no carrier", noDefault, edit(base, func(s *Snapshot) { s.Links[1].Running = false }), nil},
	} {
		got := Changes(c.old, c.new).Revived()
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Revived = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestChangeDeltaSameAndProbing(t *testing.T) {
	base := changeHost()
	pref := PREF64{Index: 2, Prefix: netip.MustParsePrefix("64:ff9b::/96"), Source: PREF64RA,
		Router: netip.MustParseAddr("fe80::1%eth0"), Expires: time.Unix(1e9, 0)}
	for _, c := range []struct {
		name          string
		new           *Snapshot
		same, probing bool
	}{
		{"identical", edit(base, func(*Snapshot) {}), true, false},
		{"router stale", edit(base, setRouter(2, NeighStale)), true, false},
		{"router being resolved", edit(base, setRouter(2, NeighIncomplete)), false, true},
		{"router failed", edit(base, setRouter(2, NeighFailed)), false, true},
		{"router's link-layer address known", edit(base, func(s *Snapshot) { s.Neighbors[0].HWAddr = "02:00:00:00:00:0c" }), false, false},
		{"address flags", edit(base, func(s *Snapshot) { s.Addrs[0].Flags = Deprecated }), false, true},
		{"a route", edit(base, func(s *Snapshot) { s.Routes = s.Routes[1:] }), false, false},
		{"gateway", edit(base, func(s *Snapshot) { s.Gateway4 = netip.Addr{} }), false, true},
		{"a PREF64 from an RA", edit(base, func(s *Snapshot) { s.PREF64s = []PREF64{pref} }), false, false},
	} {
		d := Changes(base, c.new)
		if d.Same() != c.same || d.Probing() != c.probing {
			t.Errorf("%s: Same, Probing = %v, %v; want %v, %v", c.name, d.Same(), d.Probing(), c.same, c.probing)
		}
	}
	// Between unusable states, the state still counts: being resolved is not
	// failed.
	resolving := edit(base, setRouter(2, NeighIncomplete))
	if Changes(resolving, edit(base, setRouter(2, NeighFailed))).Same() {
		t.Error("a router failed after being resolved is no change")
	}
	if !Changes(edit(base, setRouter(2, NeighStale)), edit(base, setRouter(2, NeighReachable))).Same() {
		t.Error("a router confirmed again after stale is a change")
	}
	if d := Changes(nil, base); d.Same() || !d.Probing() || !d.GatewaysChanged() {
		t.Error("a first snapshot is a change that matters to probing")
	}
	// An RA that only refreshes a PREF64's lifetime is no change.
	with := edit(base, func(s *Snapshot) { s.PREF64s = []PREF64{pref} })
	refreshed := edit(with, func(s *Snapshot) { s.PREF64s = []PREF64{pref}; s.PREF64s[0].Expires = pref.Expires.Add(time.Hour) })
	if !Changes(with, refreshed).Same() {
		t.Error("a PREF64 whose lifetime was refreshed is a change")
	}
}

func TestKernelDownAndOnLink(t *testing.T) {
	base := changeHost()
	a := base.Addrs[2] // on eth1
	if base.KernelDown(a) {
		t.Error("KernelDown with carrier and a route through the link")
	}
	if !edit(base, func(s *Snapshot) { s.Links[1].Running = false }).KernelDown(a) {
		t.Error("no carrier is not KernelDown")
	}
	if !edit(base, func(s *Snapshot) { s.Routes = s.Routes[:2] }).KernelDown(a) {
		t.Error("no IPv6 route through the link is not KernelDown")
	}
	if (&Snapshot{Addrs: []Addr{a}}).KernelDown(a) {
		t.Error("a snapshot without links and routes says KernelDown")
	}
	for ip, want := range map[string]bool{
		"fe80::1234%eth1": true, "10.1.0.1": true, "10.1.0.77": true, "2001:db8:a:1::1": true,
		"2001:db8:a:2::1": false, "192.0.2.1": false,
	} {
		if got := base.OnLink(netip.MustParseAddr(ip)); got != want {
			t.Errorf("OnLink(%s) = %v, want %v", ip, got, want)
		}
	}
}

func TestNetworkOf(t *testing.T) {
	base := changeHost()
	v4 := base.NetworkOf(base.Addrs[0])
	want := Network{Router: netip.MustParseAddr("10.1.0.1"), HWAddr: "02:00:00:00:00:0a", Prefix: netip.MustParsePrefix("10.1.0.0/24")}
	if v4 != want {
		t.Fatalf("NetworkOf = %+v, want %+v", v4, want)
	}
	v6 := base.NetworkOf(base.Addrs[1])
	if v6.Router != netip.MustParseAddr("fe80::a") {
		t.Errorf("IPv6 network's router %v, want fe80::a without zone", v6.Router)
	}
	unresolved := want
	unresolved.HWAddr = ""
	other := want
	other.HWAddr = "02:00:00:00:00:0c"
	moved := want
	moved.Router = netip.MustParseAddr("10.1.0.2")
	for _, c := range []struct {
		name string
		o    Network
		same bool
	}{
		{"itself", want, true},
		{"router not resolved yet", unresolved, true},
		{"another router at the same address", other, false},
		{"another router address", moved, false},
		{"another prefix", Network{Router: want.Router, Prefix: netip.MustParsePrefix("10.1.1.0/24")}, false},
	} {
		if got := want.Same(c.o); got != c.same {
			t.Errorf("%s: Same = %v, want %v", c.name, got, c.same)
		}
	}
	if !want.SameRouter(Network{Router: want.Router, Prefix: netip.MustParsePrefix("10.1.1.0/24")}) {
		t.Error("SameRouter looks at the prefix")
	}
}
