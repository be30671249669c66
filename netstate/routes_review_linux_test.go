package netstate

import (
	"net/netip"
	"testing"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"
)

// Linux sets IFA_F_TENTATIVE|IFA_F_OPTIMISTIC on an optimistic-DAD address
// (RFC 4429); the kernel lets sockets bind it (__ipv6_chk_addr_and_flags
// decouples optimistic from tentative).
func TestOptimisticUsable(t *testing.T) {
	a := Addr{IP: netip.MustParseAddr("2001:db8::1"), Bits: 64,
		Flags: addrFlags(unix.IFA_F_TENTATIVE|unix.IFA_F_OPTIMISTIC, true)}
	if !a.Usable() || !a.Has(Deprecated) {
		t.Errorf("optimistic address flags %v: Usable() = %v, deprecated %v; want usable (the kernel binds it), deprecated (RFC 4429 section 3.3)",
			a.Flags, a.Usable(), a.Has(Deprecated))
	}
}

func twoLinks() []rtnetlink.LinkMessage {
	up := uint32(unix.IFF_UP | unix.IFF_RUNNING)
	return []rtnetlink.LinkMessage{
		{Index: 2, Flags: up, Attributes: &rtnetlink.LinkAttributes{Name: "eth0"}},
		{Index: 3, Flags: up, Attributes: &rtnetlink.LinkAttributes{Name: "eth1"}},
	}
}

// "ip route add default via inet6 fe80::1 dev eth0" (RFC 5549 style, RTA_VIA):
// an IPv4 default route whose next hop is IPv6.
func TestGateway4Via6(t *testing.T) {
	d := dumpMessages{links: twoLinks(), routes: routeMessages(t, []rtnetlink.RouteMessage{{
		Family: unix.AF_INET, Table: mainTable, Type: unix.RTN_UNICAST,
		Attributes: rtnetlink.RouteAttributes{OutIface: 2,
			Via: &rtnetlink.RouteVia{Family: unix.AF_INET6, Addr: netip.MustParseAddr("fe80::1").AsSlice()}},
	}})}
	s := snapshotOf(t, d)
	if gw := s.Gateway4; gw.IsValid() && !gw.Is4() {
		t.Errorf("Gateway4 = %v, not an IPv4 address", gw)
	}
	// Still the link's IPv4 router (its neighbour state, its network).
	if gw, ok := s.Router(2, false); !ok || gw != netip.MustParseAddr("fe80::1%eth0") {
		t.Errorf("Router(eth0, IPv4) = %v, %v; want fe80::1%%eth0", gw, ok)
	}
}

// Two RA default routes of equal metric; the kernel prefers the router with
// the higher RFC 4191 preference (rt6_score_route).
func TestGateway6RouterPreference(t *testing.T) {
	high, medium := uint8(1), uint8(0) // ICMPV6_ROUTER_PREF_HIGH, _MEDIUM
	def := func(index uint32, gw string, pref *uint8) rtnetlink.RouteMessage {
		return rtnetlink.RouteMessage{Family: unix.AF_INET6, Table: mainTable, Type: unix.RTN_UNICAST,
			Attributes: rtnetlink.RouteAttributes{OutIface: index, Priority: 1024, Pref: pref,
				Gateway: netip.MustParseAddr(gw).AsSlice()}}
	}
	d := dumpMessages{links: twoLinks(), routes: routeMessages(t, []rtnetlink.RouteMessage{
		def(2, "fe80::1", &medium), def(3, "fe80::2", &high)})}
	s := snapshotOf(t, d)
	if gw := s.Gateway6; gw != netip.MustParseAddr("fe80::2%eth1") {
		t.Errorf("Gateway6 = %v; the kernel routes via fe80::2%%eth1 (preference high)", gw)
	}
	if dec, err := s.Lookup(netip.Addr{}, netip.MustParseAddr("2001:db8::1")); err != nil || dec.Interface != "eth1" {
		t.Errorf("Lookup = %+v, %v; the kernel routes via eth1 (preference high)", dec, err)
	}
}
