package netstate

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// withRouteSrc returns a copy of route message m restricted to sources in p
// (rtm_src_len and RTA_SRC, as "ip -6 route add default from p ..." sets).
func withRouteSrc(m netlink.Message, p netip.Prefix) netlink.Message {
	data := slices.Clone(m.Data)
	data[2] = uint8(p.Bits())
	attr := make([]byte, 4, 20)
	binary.NativeEndian.PutUint16(attr[0:2], 20)
	binary.NativeEndian.PutUint16(attr[2:4], unix.RTA_SRC)
	attr = append(attr, p.Addr().AsSlice()...)
	m.Data = append(data, attr...)
	return m
}

// Source-specific IPv6 routes (RFC 8678 multihoming: "default from A::/48 via
// R", "default from B::/48 via R") are distinct kernel routes.
func TestSourceSpecificRoutes(t *testing.T) {
	def6 := firstMessage(t, unix.RTM_NEWROUTE, func(m netlink.Message) bool {
		var r rtnetlink.RouteMessage
		return r.UnmarshalBinary(m.Data) == nil && r.Family == unix.AF_INET6 && r.DstLength == 0 &&
			r.Attributes.Gateway != nil && (r.Attributes.Table == mainTable || uint32(r.Table) == mainTable)
	})
	a := withRouteSrc(def6, netip.MustParsePrefix("2001:db8:c::/48"))
	b := withRouteSrc(def6, netip.MustParsePrefix("2001:db8:d::/48"))
	var d dedup
	d.relevant(a)
	if !d.relevant(b) {
		t.Error("a second source-specific default route is dropped as a duplicate of the first")
	}
	// In a snapshot, a route for sources in 2001:db8:a::/48 only is taken as a
	// default route for every source.
	var msgs []netlink.Message
	for _, m := range readMultihomed(t) {
		if !slices.Equal(m.Data, def6.Data) {
			msgs = append(msgs, m)
		}
	}
	s, _ := parseDump(append(msgs, a), time.Now())
	var src netip.Addr
	for _, x := range s.Sources() {
		if x.Class() == GUA && x.Index == 100 {
			src = x.IP
			break
		}
	}
	if d, err := s.Lookup(src, netip.MustParseAddr("2001:4860::1")); err == nil {
		t.Errorf("Lookup from %v (outside the route's from-prefix) = %+v; the kernel has no route", src, d)
	}
	if s.Gateway6 == netip.MustParseAddr("fe80::1%v0") {
		t.Errorf("Gateway6 = %v from a route only for 2001:db8:c::/48, though another default serves all sources", s.Gateway6)
	}
	// A source inside the route's prefix is routed by it.
	in := Addr{IP: netip.MustParseAddr("2001:db8:c::10"), Bits: 64, Index: 100, Interface: "v0"}
	s.Addrs = append(s.Addrs, in)
	if d, err := s.Lookup(in.IP, netip.MustParseAddr("2001:4860::1")); err != nil || d.Interface != "v0" {
		t.Errorf("Lookup from %v (inside the route's from-prefix) = %+v, %v; want v0", in.IP, d, err)
	}
	if s.KernelDown(in) {
		t.Errorf("KernelDown(%v) with a default route from its prefix", in.IP)
	}

}
