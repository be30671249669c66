package netstate

import (
	"net/netip"
	"testing"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// IPv4 routes flushed by the kernel when a link goes down or loses its last
// address are removed without RTM_DELROUTE. When the same route is added back
// later (DHCP renews on the same network), its RTM_NEWROUTE must count.
func TestDedupRouteAfterSilentFlush(t *testing.T) {
	link := firstMessage(t, unix.RTM_NEWLINK, all)
	linkDown := downOf(link)
	route := firstMessage(t, unix.RTM_NEWROUTE, func(m netlink.Message) bool {
		var r rtnetlink.RouteMessage
		return r.UnmarshalBinary(m.Data) == nil && r.Family == unix.AF_INET && r.DstLength == 0 &&
			(r.Attributes.Table == mainTable || uint32(r.Table) == mainTable)
	})
	var d dedup
	d.relevant(link)
	if !d.relevant(route) {
		t.Fatal("first default route not relevant")
	}
	d.relevant(linkDown) // the kernel flushes the IPv4 routes silently
	d.relevant(link)     // link up again: rebuild happens here, route still absent
	if !d.relevant(route) {
		t.Error("default route re-added after the link came back is dropped as a duplicate")
	}
}

// TestDedupRouteAfterAddrRemoved: removing a link's last IPv4 address flushes
// its IPv4 routes silently too.
func TestDedupRouteAfterAddrRemoved(t *testing.T) {
	addr := firstMessage(t, unix.RTM_NEWADDR, all)
	del := withType(addr, unix.RTM_DELADDR)
	route := firstMessage(t, unix.RTM_NEWROUTE, func(m netlink.Message) bool {
		var r rtnetlink.RouteMessage
		return r.UnmarshalBinary(m.Data) == nil && r.Family == unix.AF_INET && r.DstLength == 0
	})
	var d dedup
	d.relevant(addr)
	d.relevant(route)
	d.relevant(del)
	d.relevant(addr)
	if !d.relevant(route) {
		t.Error("default route added again after its address came back is dropped as a duplicate")
	}
}

// TestDedupRoutePreference: an RA that changes its router's preference
// changes the route (Route.Preference).
func TestDedupRoutePreference(t *testing.T) {
	withPref := func(p uint8) netlink.Message {
		r := rtnetlink.RouteMessage{Family: unix.AF_INET6, Table: mainTable, Type: unix.RTN_UNICAST,
			Attributes: rtnetlink.RouteAttributes{OutIface: 2, Priority: 1024, Pref: &p,
				Gateway: netip.MustParseAddr("fe80::1").AsSlice()}}
		b, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWROUTE}, Data: b}
	}
	var d dedup
	d.relevant(withPref(0))
	if d.relevant(withPref(0)) {
		t.Error("the same route twice: relevant")
	}
	if !d.relevant(withPref(1)) {
		t.Error("the route's preference changed to high: dropped as a duplicate")
	}
}
