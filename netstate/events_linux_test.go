package netstate

import (
	"net/netip"
	"testing"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// eventRoute4 marshals an IPv4 route message of the main table as the kernel
// sends it in an event.
func eventRoute4(t *testing.T, typ netlink.HeaderType, flags netlink.HeaderFlags, dst string, bits uint8, gw string, oif uint32) netlink.Message {
	t.Helper()
	r := rtnetlink.RouteMessage{Family: unix.AF_INET, Table: mainTable, Type: unix.RTN_UNICAST,
		Protocol: unix.RTPROT_BOOT, Scope: unix.RT_SCOPE_UNIVERSE, DstLength: bits,
		Attributes: rtnetlink.RouteAttributes{Table: mainTable, OutIface: oif}}
	if dst != "" {
		r.Attributes.Dst = netip.MustParseAddr(dst).AsSlice()
	}
	if gw != "" {
		r.Attributes.Gateway = netip.MustParseAddr(gw).AsSlice()
	}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return netlink.Message{Header: netlink.Header{Type: typ, Flags: flags}, Data: b}
}

// "ip route replace default via A" after "ip route replace default via B"
// (a failover script, keepalived, a DHCP client switching routers): the kernel
// replaces the route in place and announces only RTM_NEWROUTE with
// NLM_F_REPLACE for the new one, never RTM_DELROUTE for the one replaced.
// A -> B -> A: the last event is a real change (the default route is via A
// again), and counts although A was seen before.
func TestDedupRouteReplacedBack(t *testing.T) {
	const replace = netlink.Request | netlink.Replace // NLM_F_REPLACE as the kernel echoes it
	viaA := eventRoute4(t, unix.RTM_NEWROUTE, replace, "", 0, "192.0.2.1", 2)
	viaB := eventRoute4(t, unix.RTM_NEWROUTE, replace, "", 0, "192.0.2.2", 2)
	var d dedup
	if !d.relevant(viaA) {
		t.Fatal("default via A: not relevant")
	}
	if !d.relevant(viaB) {
		t.Fatal("default replaced by via B: not relevant")
	}
	if !d.relevant(viaA) {
		t.Error("default replaced back by via A: dropped as a duplicate; the snapshot keeps the route via B")
	}
}

// An IPv6 address with a peer ("ip -6 addr add 2001:db8::1 peer 2001:db8::2
// dev eth0", and every PPP link's link-local address, which pppd configures
// as "fe80::L peer fe80::P/128"): the kernel's inet6_fill_ifaddr sends the
// local address in IFA_LOCAL and the peer in IFA_ADDRESS, exactly as for IPv4:
// the snapshot lists ours, not the peer's (a source that cannot be bound).
func TestIPv6PeerAddress(t *testing.T) {
	links := twoLinks()
	d := dumpMessages{links: links, addrs: []rtnetlink.AddressMessage{
		{Family: unix.AF_INET6, PrefixLength: 128, Index: 2, Scope: unix.RT_SCOPE_UNIVERSE,
			Attributes: &rtnetlink.AddressAttributes{
				Local:     netip.MustParseAddr("2001:db8::1").AsSlice(),
				Address:   netip.MustParseAddr("2001:db8::2").AsSlice(), // the peer
				CacheInfo: rtnetlink.CacheInfo{Preferred: infinityLifetime, Valid: infinityLifetime},
			}},
		{Family: unix.AF_INET6, PrefixLength: 128, Index: 3, Scope: unix.RT_SCOPE_LINK,
			Attributes: &rtnetlink.AddressAttributes{
				Local:     netip.MustParseAddr("fe80::1").AsSlice(),
				Address:   netip.MustParseAddr("fe80::2").AsSlice(), // the peer
				CacheInfo: rtnetlink.CacheInfo{Preferred: infinityLifetime, Valid: infinityLifetime},
			}},
	}}
	s := snapshotOf(t, d)
	for _, want := range []string{"2001:db8::1", "fe80::1%eth1"} {
		if _, ok := s.Addr(netip.MustParseAddr(want)); !ok {
			t.Errorf("our address %s (IFA_LOCAL) is not in the snapshot; Addrs = %+v", want, s.Addrs)
		}
	}
	for _, peer := range []string{"2001:db8::2", "fe80::2%eth1"} {
		if _, ok := s.Addr(netip.MustParseAddr(peer)); ok {
			t.Errorf("the peer's address %s (IFA_ADDRESS) is taken as ours", peer)
		}
	}
}

// Renaming a link ("ip link set wlan0 name wl0", as udev or a user does) brings
// nothing back: the link stays up, its addresses and routes are the same,
// although its link-local address and gateway carry the new name as their
// zone. It is not revived (which would make callers re-check its sources).
func TestRenameIsNotRevival(t *testing.T) {
	snap := func(name string) *Snapshot {
		return &Snapshot{
			Links: []Link{{Index: 5, Name: name, Up: true, Running: true, MTU: 1500}},
			Addrs: []Addr{{IP: netip.MustParseAddr("fe80::10%" + name), Bits: 64, Index: 5, Interface: name,
				PreferredLifetime: Forever, ValidLifetime: Forever}},
			Routes: []Route{{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("fe80::1%" + name),
				Index: 5, Table: mainTable, Priority: 1024}},
		}
	}
	if got := Changes(snap("wlan0"), snap("wl0")).Revived(); len(got) != 0 {
		t.Errorf("link 5 renamed wlan0 -> wl0, nothing else changed: Revived() = %v, want none", got)
	}
}
