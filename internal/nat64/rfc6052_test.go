package nat64

import (
	"net/netip"
	"testing"
)

// The examples of RFC 6052 section 2.4, then the edge cases.
func TestSynthesizeRFC6052Examples(t *testing.T) {
	for _, tc := range []struct {
		prefix, v4, want string // want "" means Synthesize refuses
	}{
		{"2001:db8::/32", "192.0.2.33", "2001:db8:c000:221::"},
		{"2001:db8:100::/40", "192.0.2.33", "2001:db8:1c0:2:21::"},
		{"2001:db8:122::/48", "192.0.2.33", "2001:db8:122:c000:2:2100::"},
		{"2001:db8:122:300::/56", "192.0.2.33", "2001:db8:122:3c0:0:221::"},
		{"2001:db8:122:344::/64", "192.0.2.33", "2001:db8:122:344:c0:2:2100:0"},
		{"2001:db8:122:344::/96", "192.0.2.33", "2001:db8:122:344::192.0.2.33"},
		// The RFC's table shows 64:ff9b::192.0.2.33 to illustrate the layout,
		// but its section 3.1 forbids non-global IPv4 under the Well-Known
		// Prefix, and translators (tayga) refuse it.
		{"64:ff9b::/96", "192.0.2.33", ""},
		{"64:ff9b::/96", "198.41.0.4", "64:ff9b::c629:4"},
		{"64:ff9b::/96", "10.1.2.3", ""},
		{"2001:db8:6464::/96", "10.1.2.3", "2001:db8:6464::a01:203"},
		{"2001:db8:6464::/96", "::ffff:192.0.2.10", "2001:db8:6464::c000:20a"}, // IPv4-mapped is IPv4
		// Never synthesized: host-scoped, multicast, reserved.
		{"2001:db8:6464::/96", "0.1.2.3", ""},
		{"2001:db8:6464::/96", "127.0.0.1", ""},
		{"2001:db8:6464::/96", "169.254.1.1", ""},
		{"2001:db8:6464::/96", "255.255.255.255", ""},
		{"2001:db8:6464::/96", "224.0.0.1", ""},
		{"2001:db8:6464::/96", "240.0.0.1", ""},
		{"2001:db8:6464::/96", "2001:db8::1", ""},
		// Not a NAT64 prefix.
		{"2001:db8:6464::/80", "192.0.2.10", ""},
		{"2001:db8:6464::1/96", "192.0.2.10", ""},
		{"2001:db8:0:0:100::/96", "192.0.2.10", ""}, // u octet set
		{"10.0.0.0/8", "192.0.2.10", ""},
	} {
		t.Run(tc.prefix+"+"+tc.v4, func(t *testing.T) {
			p := netip.MustParsePrefix(tc.prefix)
			v4 := netip.MustParseAddr(tc.v4)
			got, ok := Synthesize(p, v4)
			if tc.want == "" {
				if ok {
					t.Fatalf("Synthesize(%v, %v) = %v; want a refusal", p, v4, got)
				}
				return
			}
			want := netip.MustParseAddr(tc.want)
			if !ok || got != want {
				t.Fatalf("Synthesize(%v, %v) = %v, %v; want %v", p, v4, got, ok, want)
			}
			back, ok := Extract(p, got)
			if !ok || back != v4.Unmap() {
				t.Fatalf("Extract(%v, %v) = %v, %v; want %v", p, got, back, ok, v4.Unmap())
			}
		})
	}
}

func TestExtract(t *testing.T) {
	p96 := netip.MustParsePrefix("2001:db8:6464::/96")
	p64 := netip.MustParsePrefix("2001:db8:122:344::/64")
	for _, tc := range []struct {
		name   string
		prefix netip.Prefix
		v6     string
		want   string // "" means not an embedded address
	}{
		{"inside", p96, "2001:db8:6464::c000:20a", "192.0.2.10"},
		{"zone ignored", p96, "2001:db8:6464::c000:20a%eth0", "192.0.2.10"},
		{"outside", p96, "2001:db8:6465::c000:20a", ""},
		{"host-scoped inside", p96, "2001:db8:6464::7f00:1", ""},
		{"ipv4 given", p96, "192.0.2.10", ""},
		{"u octet set", p64, "2001:db8:122:344:1c0:2:2100:0", ""},
		{"suffix ignored", p64, "2001:db8:122:344:c0:2:2100:ff", "192.0.2.33"},
		{"real host in a /64", p64, "2001:db8:122:344::1", ""}, // 0.0.0.0: never translated
		{"bad prefix", netip.MustParsePrefix("2001:db8::/33"), "2001:db8::1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Extract(tc.prefix, netip.MustParseAddr(tc.v6))
			if tc.want == "" {
				if ok {
					t.Fatalf("Extract(%v, %v) = %v; want none", tc.prefix, tc.v6, got)
				}
				return
			}
			if want := netip.MustParseAddr(tc.want); !ok || got != want {
				t.Fatalf("Extract(%v, %v) = %v, %v; want %v", tc.prefix, tc.v6, got, ok, want)
			}
		})
	}
}

// Every length, every byte: Synthesize and Extract are inverse, and the
// embedded address never touches the u octet or the prefix.
func TestSynthesizeEveryLength(t *testing.T) {
	base := netip.MustParseAddr("2001:db8:aaaa:bbbb:cc00::").As16()
	v4 := netip.MustParseAddr("198.51.100.254")
	for _, n := range lengths {
		p, err := netip.AddrFrom16(base).Prefix(n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 96 {
			a := p.Addr().As16()
			a[8] = 0 // the u octet
			p = netip.PrefixFrom(netip.AddrFrom16(a), 96)
		}
		got, ok := Synthesize(p, v4)
		if !ok {
			t.Fatalf("/%d: refused", n)
		}
		if !p.Contains(got) || got.As16()[8] != 0 {
			t.Errorf("/%d: %v is outside %v or has a u octet", n, got, p)
		}
		if back, ok := Extract(p, got); !ok || back != v4 {
			t.Errorf("/%d: Extract(%v) = %v, %v", n, got, back, ok)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, s := range []string{"64:ff9b::/96", "2001:db8::/32", "2001:db8:100::/40", "2001:db8:122::/48",
		"2001:db8:122:300::/56", "2001:db8:122:344::/64", "64:ff9b:1::/48"} {
		if err := CheckPrefix(netip.MustParsePrefix(s)); err != nil {
			t.Errorf("CheckPrefix(%s) = %v", s, err)
		}
	}
	for _, p := range []netip.Prefix{{}, netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("::ffff:0:0/96"),
		netip.MustParsePrefix("2001:db8::/31"), netip.MustParsePrefix("2001:db8::/128"),
		netip.MustParsePrefix("2001:db8::1/96"), netip.MustParsePrefix("2001:db8:0:0:ff00::/96"),
		// Not unicast prefixes a translator can have: what a hostile DNS64
		// answer for ipv4only.arpa or an RA would otherwise send every IPv4
		// destination to.
		netip.MustParsePrefix("fe80::/96"), netip.MustParsePrefix("ff02::/96"), netip.MustParsePrefix("::/96"),
		netip.MustParsePrefix("fe80::/64"), netip.MustParsePrefix("ff0e::/32")} {
		if err := CheckPrefix(p); err == nil {
			t.Errorf("CheckPrefix(%v) = nil; want an error", p)
		}
	}
}

func TestTranslatable(t *testing.T) {
	for s, want := range map[string]bool{
		"192.0.2.10": true, "10.0.0.1": true, "100.64.0.1": true, "8.8.8.8": true, "::ffff:8.8.8.8": true,
		"0.0.0.0": false, "0.255.255.255": false, "127.0.0.1": false, "169.254.0.1": false,
		"224.0.0.251": false, "239.255.255.250": false, "240.0.0.1": false, "255.255.255.255": false,
		"2001:db8::1": false, "::1": false,
	} {
		if got := Translatable(netip.MustParseAddr(s)); got != want {
			t.Errorf("Translatable(%s) = %v; want %v", s, got, want)
		}
	}
	if Translatable(netip.Addr{}) {
		t.Error("Translatable(invalid) = true")
	}
}
