package pairs

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/getapr/getapr/netstate"
)

// nat64Snapshot is the lab's shape: eth0 (index 2) dual-stack with a GUA and
// RFC 1918 IPv4, eth1 (index 3) IPv6-only (a GUA and link-local IPv4 only),
// eth2 (index 4) with IPv4 only.
func nat64Snapshot() *netstate.Snapshot {
	return &netstate.Snapshot{
		Generation: 1,
		Links:      []netstate.Link{link(2, "eth0"), link(3, "eth1"), link(4, "eth2")},
		Addrs: []netstate.Addr{
			addr("2001:db8:a:1::100/64", 2, "eth0"),
			addr("10.1.0.100/24", 2, "eth0"),
			addr("fe80::100/64", 3, "eth1"),
			addr("2001:db8:b:1::100/64", 3, "eth1"),
			addr("2001:db8:b:1::200/64", 3, "eth1", netstate.Deprecated),
			addr("169.254.7.7/16", 3, "eth1"),
			addr("192.168.9.9/24", 4, "eth2"),
		},
	}
}

func TestIPv6OnlyLinks(t *testing.T) {
	s := nat64Snapshot()
	if got := ipv6OnlyLinks(s); !slices.Equal(got, []int{3}) {
		t.Errorf("ipv6OnlyLinks = %v; want [3]", got)
	}
	if got, want := dns64Network(s), "3=2001:db8:b:1::/64;"; got != want {
		t.Errorf("dns64Network = %q; want %q", got, want)
	}
	if !needsDNS64(s) {
		t.Error("needsDNS64 = false with an IPv6-only link and no RA")
	}
	s.PREF64s = []netstate.PREF64{{Index: 3, Prefix: netip.MustParsePrefix("2001:db8:6464::/96"), Source: netstate.PREF64RA}}
	if needsDNS64(s) {
		t.Error("needsDNS64 = true though the RA gave the IPv6-only link its prefix")
	}
	if got := dns64Network(homeSnapshot()); got != "" {
		t.Errorf("dns64Network of a dual-stack host = %q; want empty", got)
	}
}

func TestLinkPREF64s(t *testing.T) {
	ra := netip.MustParsePrefix("2001:db8:6464::/96")
	dns := netip.MustParsePrefix("64:ff9b::/96")
	conf := netip.MustParsePrefix("2001:db8:c0::/64")
	confEth0 := netip.MustParsePrefix("2001:db8:c1::/96")
	for _, tc := range []struct {
		name string
		ra   bool
		dns  []netip.Prefix
		cfg  []ConfiguredPREF64
		want []netstate.PREF64
	}{
		{"nothing", false, nil, nil, nil},
		{"ra", true, []netip.Prefix{dns}, nil,
			[]netstate.PREF64{{Index: 3, Prefix: ra, Source: netstate.PREF64RA}}},
		{"dns on the IPv6-only link", false, []netip.Prefix{dns, ra}, nil,
			[]netstate.PREF64{{Index: 3, Prefix: dns, Source: netstate.PREF64DNS}}},
		{"config everywhere with IPv6", false, nil, []ConfiguredPREF64{{Prefix: conf}},
			[]netstate.PREF64{{Index: 2, Prefix: conf, Source: netstate.PREF64Config}, {Index: 3, Prefix: conf, Source: netstate.PREF64Config}}},
		{"config by interface, after dns", false, []netip.Prefix{dns}, []ConfiguredPREF64{{Interface: "eth0", Prefix: confEth0}, {Prefix: conf}},
			[]netstate.PREF64{{Index: 2, Prefix: confEth0, Source: netstate.PREF64Config}, {Index: 3, Prefix: dns, Source: netstate.PREF64DNS}}},
		{"config by interface wins over one for every link given before it", false, nil, []ConfiguredPREF64{{Prefix: conf}, {Interface: "eth0", Prefix: confEth0}},
			[]netstate.PREF64{{Index: 2, Prefix: confEth0, Source: netstate.PREF64Config}, {Index: 3, Prefix: conf, Source: netstate.PREF64Config}}},
		{"config for an unknown interface", false, nil, []ConfiguredPREF64{{Interface: "wlan0", Prefix: conf}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := nat64Snapshot()
			if tc.ra {
				s.PREF64s = []netstate.PREF64{{Index: 3, Prefix: ra, Source: netstate.PREF64RA}}
			}
			got := linkPREF64s(s, tc.dns, tc.cfg)
			if !slices.Equal(got, tc.want) {
				t.Errorf("linkPREF64s:\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDesynthesize(t *testing.T) {
	prefs := []netstate.PREF64{{Index: 3, Prefix: netip.MustParsePrefix("2001:db8:6464::/96")}}
	for _, tc := range []struct {
		name     string
		in, want []string
		prefs    []netstate.PREF64
	}{
		{"no prefix", []string{"2001:db8:6464::c000:20a", "192.0.2.10"}, []string{"2001:db8:6464::c000:20a", "192.0.2.10"}, nil},
		{"dns64 answer and its A", []string{"2001:db8:6464::c000:20a", "192.0.2.10"}, []string{"192.0.2.10"}, prefs},
		{"real first, then A, then translated", []string{"2001:db8:6464::c000:20b", "2001:db8:5::10", "192.0.2.10"},
			[]string{"2001:db8:5::10", "192.0.2.10", "192.0.2.11"}, prefs},
		{"not translatable stays", []string{"2001:db8:6464::7f00:1"}, []string{"2001:db8:6464::7f00:1"}, prefs},
		{"outside the prefix stays", []string{"64:ff9b::c000:20a"}, []string{"64:ff9b::c000:20a"}, prefs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in, want []netip.Addr
			for _, s := range tc.in {
				in = append(in, ip(s))
			}
			for _, s := range tc.want {
				want = append(want, ip(s))
			}
			if got := desynthesize(in, tc.prefs); !slices.Equal(got, want) {
				t.Errorf("desynthesize(%v) = %v; want %v", in, got, want)
			}
		})
	}
}

func TestParsePREF64s(t *testing.T) {
	got, err := ParsePREF64s(" 64:ff9b::/96, 2001:db8:6464::/96%eth1,")
	want := []ConfiguredPREF64{{Prefix: netip.MustParsePrefix("64:ff9b::/96")}, {Interface: "eth1", Prefix: netip.MustParsePrefix("2001:db8:6464::/96")}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ParsePREF64s = %+v, %v; want %+v", got, err, want)
	}
	if got, err := ParsePREF64s(""); err != nil || got != nil {
		t.Errorf("ParsePREF64s(\"\") = %v, %v", got, err)
	}
	for _, bad := range []string{"64:ff9b::/95", "64:ff9b::", "192.0.2.0/24", "2001:db8::1/96"} {
		if _, err := ParsePREF64s(bad); err == nil {
			t.Errorf("ParsePREF64s(%q) did not fail", bad)
		}
	}
}
