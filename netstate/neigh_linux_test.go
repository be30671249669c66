package netstate

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// twoRouters is a host with a default router per family on eth0 (index 2) and an
// IPv6 one on eth1 (index 3), in main and in a policy table.
func twoRouters() *Snapshot {
	return &Snapshot{
		Links: []Link{{Index: 2, Name: "eth0", Up: true, Running: true}, {Index: 3, Name: "eth1", Up: true, Running: true}},
		Routes: []Route{
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("10.1.0.1"), Index: 2, Priority: 100},
			{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fe80::a%eth0"), Index: 2, Priority: 100},
			{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fe80::b%eth1"), Index: 3, Priority: 200},
			{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fe80::b%eth1"), Index: 3, Table: 102},
			{Dst: netip.MustParsePrefix("::/0"), Index: 0, Table: 102, Type: Unreachable},
			{Dst: netip.MustParsePrefix("2001:db8:a:1::/64"), Index: 2},
		},
	}
}

// neighMsg returns the neighbour message the kernel would send for ip on index.
func neighMsg(t testing.TB, typ netlink.HeaderType, index int, ip string, mac string, nud uint16) netlink.Message {
	t.Helper()
	a := netip.MustParseAddr(ip)
	fam := uint16(unix.AF_INET6)
	if a.Is4() {
		fam = unix.AF_INET
	}
	m := rtnetlink.NeighMessage{Family: fam, Index: uint32(index), State: nud,
		Attributes: &rtnetlink.NeighAttributes{Address: net.IP(a.AsSlice()), IfIndex: uint32(index)}}
	if mac != "" {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			t.Fatal(err)
		}
		m.Attributes.LLAddress = hw
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return netlink.Message{Header: netlink.Header{Type: typ}, Data: b}
}

func TestNeighState(t *testing.T) {
	for _, c := range []struct {
		nud  uint16
		want NeighState
	}{
		{0, NeighNone},
		{unix.NUD_INCOMPLETE, NeighIncomplete},
		{unix.NUD_REACHABLE, NeighReachable},
		{unix.NUD_PERMANENT, NeighReachable},
		{unix.NUD_NOARP, NeighReachable},
		{unix.NUD_STALE, NeighStale},
		{unix.NUD_DELAY, NeighStale},
		{unix.NUD_PROBE, NeighStale},
		{unix.NUD_FAILED, NeighFailed},
	} {
		if got := neighState(c.nud); got != c.want {
			t.Errorf("neighState(%#x) = %v, want %v", c.nud, got, c.want)
		}
	}
	if NeighFailed.Usable() || NeighIncomplete.Usable() || !NeighNone.Usable() || !NeighStale.Usable() {
		t.Error("Usable: only failed and incomplete routers are unusable")
	}
}

func TestRouterNeighbors(t *testing.T) {
	s := twoRouters()
	var msgs []rtnetlink.NeighMessage
	for _, m := range []netlink.Message{
		neighMsg(t, unix.RTM_NEWNEIGH, 3, "fe80::b", "02:00:00:00:00:0b", unix.NUD_FAILED),
		neighMsg(t, unix.RTM_NEWNEIGH, 2, "fe80::a", "02:00:00:00:00:0a", unix.NUD_STALE),
		neighMsg(t, unix.RTM_NEWNEIGH, 2, "10.1.0.1", "02:00:00:00:00:0a", unix.NUD_REACHABLE),
		neighMsg(t, unix.RTM_NEWNEIGH, 2, "10.1.0.7", "02:00:00:00:00:07", unix.NUD_REACHABLE),        // not a router
		neighMsg(t, unix.RTM_NEWNEIGH, 3, "fe80::a", "02:00:00:00:00:0a", unix.NUD_REACHABLE),         // a router, but of another link
		neighMsg(t, unix.RTM_NEWNEIGH, 2, "2001:db8:a:1::1", "02:00:00:00:00:0a", unix.NUD_REACHABLE), // on-link, not the gateway
	} {
		var n rtnetlink.NeighMessage
		if err := n.UnmarshalBinary(m.Data); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, n)
	}
	got := s.routerNeighbors(msgs)
	want := []Neighbor{
		{Index: 2, IP: netip.MustParseAddr("10.1.0.1"), HWAddr: "02:00:00:00:00:0a", State: NeighReachable},
		{Index: 2, IP: netip.MustParseAddr("fe80::a%eth0"), HWAddr: "02:00:00:00:00:0a", State: NeighStale},
		{Index: 3, IP: netip.MustParseAddr("fe80::b%eth1"), HWAddr: "02:00:00:00:00:0b", State: NeighFailed},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("routerNeighbors (-want +got):\n%s", diff)
	}
	s.Neighbors = got
	if st := s.RouterState(3, true); st != NeighFailed {
		t.Errorf("RouterState(eth1, v6) = %v, want failed", st)
	}
	if st := s.RouterState(3, false); st != NeighNone {
		t.Errorf("RouterState(eth1, v4) = %v, want none (no IPv4 router)", st)
	}
	if gw, _ := s.Router(3, true); gw != netip.MustParseAddr("fe80::b%eth1") {
		t.Errorf("Router(eth1, v6) = %v", gw)
	}
}

// TestDedupNeighbors checks that only the default routers' neighbour events get
// through, and only when their link-layer address changes or their state
// becomes or stops being usable: a move between usable states (reachable to
// stale and back, every half minute or so) changes no Snapshot, and each
// would make the host be read again (on a router of a full table, a second).
func TestDedupNeighbors(t *testing.T) {
	var routers atomic.Pointer[routerSet]
	d := dedup{routers: &routers}
	gw := func(nud uint16, mac string) netlink.Message {
		return neighMsg(t, unix.RTM_NEWNEIGH, 2, "fe80::a", mac, nud)
	}
	other := neighMsg(t, unix.RTM_NEWNEIGH, 2, "fe80::99", "02:00:00:00:00:99", unix.NUD_REACHABLE)
	if d.relevant(gw(unix.NUD_REACHABLE, "02:00:00:00:00:0a")) {
		t.Error("a router event before the routers are known is relevant")
	}
	set := newRouterSet(twoRouters())
	routers.Store(&set)
	steps := []struct {
		name string
		m    netlink.Message
		want bool
	}{
		{"router reachable", gw(unix.NUD_REACHABLE, "02:00:00:00:00:0a"), true},
		{"again", gw(unix.NUD_REACHABLE, "02:00:00:00:00:0a"), false},
		{"stale", gw(unix.NUD_STALE, "02:00:00:00:00:0a"), false},
		{"delay", gw(unix.NUD_DELAY, "02:00:00:00:00:0a"), false},
		{"probe", gw(unix.NUD_PROBE, "02:00:00:00:00:0a"), false},
		{"reachable again", gw(unix.NUD_REACHABLE, "02:00:00:00:00:0a"), false},
		{"failed", gw(unix.NUD_FAILED, ""), true},
		{"incomplete", gw(unix.NUD_INCOMPLETE, ""), true},
		{"reachable, another router behind the address", gw(unix.NUD_REACHABLE, "02:00:00:00:00:0c"), true},
		{"deleted", withType(gw(unix.NUD_REACHABLE, "02:00:00:00:00:0c"), unix.RTM_DELNEIGH), true},
		{"another neighbour", other, false},
		{"another neighbour deleted", withType(other, unix.RTM_DELNEIGH), false},
		{"bridge entry", netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWNEIGH}, Data: make([]byte, unix.SizeofNdMsg)}, false},
	}
	for _, s := range steps {
		if got := d.relevant(s.m); got != s.want {
			t.Errorf("%s: relevant = %v, want %v", s.name, got, s.want)
		}
	}
}
