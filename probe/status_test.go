package probe_test

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
	"time"

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
