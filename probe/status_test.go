package probe_test

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

func TestStatusJSON(t *testing.T) {
	tests := []struct {
		name        string
		st          probe.Status
		gw4, gw6    any
		pref, prefs any
	}{
		{"no gateways", probe.Status{GUAOK: true}, nil, nil, nil, nil},
		{"gateways", probe.Status{
			Gateway4: netip.MustParseAddr("192.168.1.1"),
			Gateway6: netip.MustParseAddr("fe80::1%eth0"),
		}, "192.168.1.1", "fe80::1%eth0", nil, nil},
		{"nat64", probe.Status{
			NAT64: true, PREF64: netip.MustParsePrefix("2001:db8:6464::/96"), PREF64Source: "ra",
			NAT64Links: []probe.NAT64Link{{Interface: "eth1", Prefix: netip.MustParsePrefix("2001:db8:6464::/96"), Source: "ra",
				Router: netip.MustParseAddr("fe80::b%eth1"), Expires: time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)}},
		}, nil, nil, "2001:db8:6464::/96", "ra"},
	}
	keys := []string{"GUA_ok", "ULA_ok", "LLA_ok", "IPv4_ok", "ULA_present", "RFC1918", "NPTv6",
		"NPTv6_tried", "NAT44", "NAT44_tried", "def_gateway4", "def_gateway6", "NAT64", "PREF64", "PREF64_source",
		"nat64_links", "sources", "middleboxes", "changed"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.st)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if _, ok := m[k]; !ok {
					t.Errorf("key %q missing in %s", k, b)
				}
			}
			if len(m) != len(keys) {
				t.Errorf("%d keys, want %d: %s", len(m), len(keys), b)
			}
			if m["def_gateway4"] != tt.gw4 || m["def_gateway6"] != tt.gw6 {
				t.Errorf("gateways = %v, %v; want %v, %v", m["def_gateway4"], m["def_gateway6"], tt.gw4, tt.gw6)
			}
			if m["PREF64"] != tt.pref || m["PREF64_source"] != tt.prefs {
				t.Errorf("PREF64 = %v from %v; want %v from %v", m["PREF64"], m["PREF64_source"], tt.pref, tt.prefs)
			}
			var back probe.Status
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tt.st) {
				t.Errorf("round trip = %+v, want %+v", back, tt.st)
			}
		})
	}
}

func TestStatusSources(t *testing.T) {
	s := probe.NewStore()
	s.Observe(translating.snap())
	s.Report(outcome("fd00::10", "fd00::1", probe.Success, time.Millisecond, t0))
	st := s.Status()
	if !st.ULAPresent || !st.RFC1918 || !st.ULAOK || st.Gateway4 != addr("192.168.1.1") || st.Gateway6 != addr("fe80::1%eth0") {
		t.Errorf("Status = %+v", st)
	}
	want := []probe.SourceStatus{
		{Addr: addr("fd00::10"), Interface: "eth0", Class: "ula", Health: probe.Alive, Since: t0.Add(time.Millisecond)},
		{Addr: addr("192.168.1.10"), Interface: "eth0", Class: "rfc1918", Health: probe.Unknown},
		{Addr: addr("2001:db8:a::10"), Interface: "eth0", Class: "gua", Health: probe.Unknown},
	}
	for i := range st.Sources {
		if i > 0 {
			st.Sources[i].Since = time.Time{} // when Observe ran: real time
		}
	}
	if !reflect.DeepEqual(st.Sources, want) {
		t.Errorf("Sources = %+v\nwant %+v", st.Sources, want)
	}
}

// ulaNAT64 is an IPv6 host with a ULA source on a link whose router
// advertises the well-known NAT64 prefix (an IPv6-only network with NAT64,
// no NPTv6), and a GUA on the same link.
func ulaNAT64() *netstate.Snapshot {
	h := host{
		addrs:  []string{"eth0 fd00::10/64", "eth0 2001:db8:a::10/64"},
		gw6:    "fe80::1%eth0",
		routes: true,
	}
	snap := h.snap()
	snap.PREF64s = []netstate.PREF64{{Index: 1, Prefix: netip.MustParsePrefix("64:ff9b::/96"), Source: netstate.PREF64RA}}
	return snap
}

// TestNPTv6NotFromNAT64: a ULA source reaching an address
// synthesized under the link's NAT64 prefix went through the NAT64, which
// translates ULA sources as well as global ones (pairs/pairing.go: "no NPTv6
// rule applies"). It proves nothing about an NPTv6/NAT66 translator: NPTv6
// (which would make pairs offer ULA sources to every global destination) and
// NPTv6_tried stay unset, under the link's PREF64, the well-known prefix and
// a prefix given by WithNAT64Prefixes.
func TestNPTv6NotFromNAT64(t *testing.T) {
	s := probe.NewStore()
	s.Observe(ulaNAT64())
	// 192.0.2.1 through the NAT64
	s.Report(outcome("fd00::10", "64:ff9b::c000:201", probe.Success, 30*time.Millisecond, t0))
	st := s.Status()
	tr := s.Translators()
	if st.NPTv6 || st.NPTv6Tried || tr.NPTv6 || tr.NPTv6Tried {
		t.Errorf("after a ULA source reached a NAT64 address: NPTv6=%v NPTv6_tried=%v (Translators %+v); want neither: no NPTv6 was on the path",
			st.NPTv6, st.NPTv6Tried, tr)
	}
	// A prefix the snapshot does not carry (configured, or from DNS64).
	configured := netip.MustParsePrefix("2001:db8:6464::/96")
	s = probe.NewStore(probe.WithNAT64Prefixes(func() []netip.Prefix { return []netip.Prefix{configured} }))
	snap := ulaNAT64()
	snap.PREF64s = nil
	s.Observe(snap)
	s.Report(outcome("fd00::10", "2001:db8:6464::c000:201", probe.Success, 30*time.Millisecond, t0))
	if st := s.Status(); st.NPTv6 || st.NPTv6Tried {
		t.Errorf("after a ULA source reached an address under a configured NAT64 prefix: NPTv6=%v NPTv6_tried=%v; want neither", st.NPTv6, st.NPTv6Tried)
	}
	// And an NPTv6 that is there is still seen.
	s.Report(outcome("fd00::10", "2001:db8:d::1", probe.Success, 30*time.Millisecond, t0))
	if st := s.Status(); !st.NPTv6 || !st.NPTv6Tried {
		t.Errorf("after a ULA source reached a global address beyond the link: NPTv6=%v NPTv6_tried=%v; want both", st.NPTv6, st.NPTv6Tried)
	}
}

// TestNPTv6NotAbsentFromNAT64Failure: the converse. A ULA source
// that fails to reach a NAT64 address (the IPv4 server is down) while the
// GUA on the same link reached something beyond the link says nothing of
// NPTv6: the Store must not record "NPTv6 tried, not seen", which would make
// pairs drop every ULA-to-global pair.
func TestNPTv6NotAbsentFromNAT64Failure(t *testing.T) {
	s := probe.NewStore()
	s.Observe(ulaNAT64())
	s.Report(outcome("2001:db8:a::10", "2001:db8:d::1", probe.Success, 20*time.Millisecond, t0))
	s.Report(outcome("fd00::10", "64:ff9b::c000:201", probe.Timeout, 5*time.Second, t0))
	st := s.Status()
	if st.NPTv6Tried && !st.NPTv6 {
		t.Errorf("after a ULA source failed to a NAT64 address: NPTv6=%v NPTv6_tried=%v; want the NPTv6 verdict untouched", st.NPTv6, st.NPTv6Tried)
	}
}

// TestNPTv6NotFromOnLinkGUA: a ULA source reaching a global
// address on its own link (a LAN host, the router's GUA) needs no translator:
// the packets never cross a router: it sets no NPTv6 flag.
func TestNPTv6NotFromOnLinkGUA(t *testing.T) {
	s := probe.NewStore()
	s.Observe(ulaNAT64())
	s.Report(outcome("fd00::10", "2001:db8:a::20", probe.Success, time.Millisecond, t0)) // on eth0's /64
	if st := s.Status(); st.NPTv6 {
		t.Errorf("after a ULA source reached an on-link GUA: NPTv6=%v NPTv6_tried=%v; want NPTv6 false", st.NPTv6, st.NPTv6Tried)
	}
}
