package pairs

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// src returns a source attribute from "addr[/bits] [deprecated] [temporary]".
func src(t *testing.T, spec string) srcAttr {
	t.Helper()
	f := strings.Fields(spec)
	bits := 64
	a, err := netip.ParseAddr(f[0])
	if err != nil {
		p := netip.MustParsePrefix(f[0])
		a, bits = p.Addr(), p.Bits()
	} else if a.Is4() {
		bits = 24
	}
	s := srcAttr{attr: attrOf(a, DefaultPolicyTable()), bits: bits}
	for _, flag := range f[1:] {
		switch flag {
		case "deprecated":
			s.deprecated = true
		case "temporary":
			s.temporary = true
		default:
			t.Fatalf("unknown flag %q", flag)
		}
	}
	return s
}

// bestSource picks the source for d among srcs by the source rules; all sources
// are on the outgoing interface unless listed in other.
func bestSource(d attr, srcs []srcAttr, other map[netip.Addr]bool) (choice, rule) {
	choices := make([]choice, len(srcs))
	for i := range srcs {
		choices[i] = choice{srcAttr: &srcs[i], out: !other[srcs[i].ip], cpl: commonPrefixLen(srcs[i].ip, d.ip, srcs[i].bits)}
	}
	best := choices[0]
	var why rule
	for _, s := range choices[1:] {
		if c, r := compareSources(&d, best, s); c > 0 {
			best, why = s, r
		} else if c < 0 {
			why = r
		}
	}
	return best, why
}

// TestSourceRulesRFC6724 checks the source address selection examples of RFC 6724
// section 10.1, and one example per rule the section does not cover.
func TestSourceRulesRFC6724(t *testing.T) {
	tests := []struct {
		name  string
		dst   string
		srcs  []string
		other string // a source not on the outgoing interface
		want  string
		rule  rule
	}{
		{"10.1 appropriate scope", "2001:db8:1::1", []string{"2001:db8:3::1", "fe80::1"}, "", "2001:db8:3::1", rule{n: 2}},
		{"10.1 appropriate scope multicast", "ff05::1", []string{"fe80::1", "2001:db8:3::1"}, "", "2001:db8:3::1", rule{n: 2}},
		{"10.1 same address", "2001:db8:1::1", []string{"2001:db8:2::1", "2001:db8:1::1"}, "", "2001:db8:1::1", rule{n: 1}},
		{"10.1 appropriate scope link-local", "fe80::1", []string{"2001:db8:1::1", "fe80::2"}, "", "fe80::2", rule{n: 2}},
		{"10.1 longest matching prefix", "2001:db8:1::1", []string{"2001:db8:3::2", "2001:db8:1::2"}, "", "2001:db8:1::2", rule{n: 8}},
		// 10.1's home-address example needs Mobile IPv6 (rule 4), not modelled.
		{"10.1 matching label", "2002:c633:6401::1", []string{"2001:db8:1::2", "2002:c633:6401::d5e3:7953:13eb:22e8 temporary"}, "", "2002:c633:6401::d5e3:7953:13eb:22e8", rule{n: 6}},
		{"10.1 temporary", "2001:db8:1::d5e3:0:0:1", []string{"2001:db8:1::2", "2001:db8:1::d5e3:7953:13eb:22e8 temporary"}, "", "2001:db8:1::d5e3:7953:13eb:22e8", rule{n: 7}},
		{"rule 3 deprecated", "2001:db8:9::1", []string{"2001:db8:1::2 deprecated", "2001:db8:2::2"}, "", "2001:db8:2::2", rule{n: 3}},
		{"rule 5 outgoing interface", "2001:db8:9::1", []string{"2001:db8:1::2", "2001:db8:2::2"}, "2001:db8:1::2", "2001:db8:2::2", rule{n: 5}},
		{"rule 8 up to the prefix length", "2001:db8:1:0:ffff::1", []string{"2001:db8:1:0:ffff::2/48", "2001:db8:1::2/64"}, "", "2001:db8:1::2", rule{n: 8}},
		{"rule 8 ipv4", "10.1.2.3", []string{"10.9.9.9/8", "10.1.2.4/24"}, "", "10.1.2.4", rule{n: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srcs []srcAttr
			for _, s := range tt.srcs {
				srcs = append(srcs, src(t, s))
			}
			other := map[netip.Addr]bool{}
			if tt.other != "" {
				other[ip(tt.other)] = true
			}
			d := attrOf(ip(tt.dst), DefaultPolicyTable())
			for _, order := range [][]srcAttr{srcs, reversed(srcs)} {
				got, why := bestSource(d, order, other)
				if got.ip != ip(tt.want) || why != tt.rule {
					t.Errorf("source for %s among %v = %s by %q, want %s by %q", tt.dst, tt.srcs, got.ip, why, tt.want, tt.rule)
				}
			}
		})
	}
}

func reversed[T any](s []T) []T {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// sortDestinations orders dsts by the destination rules, each with its source
// chosen among srcs of its family by the source rules.
func sortDestinations(dsts []netip.Addr, srcs []srcAttr) []string {
	type pair struct {
		d attr
		s choice
	}
	var ps []pair
	for _, d := range dsts {
		var fam []srcAttr
		for _, s := range srcs {
			if s.ip.Is4() == d.Is4() {
				fam = append(fam, s)
			}
		}
		da := attrOf(d, DefaultPolicyTable())
		s, _ := bestSource(da, fam, nil)
		ps = append(ps, pair{da, s})
	}
	slices.SortStableFunc(ps, func(a, b pair) int {
		c, _ := compareDestinations(&a.d, &b.d, a.s, b.s)
		return c
	})
	var out []string
	for _, p := range ps {
		out = append(out, p.d.ip.String()+" from "+p.s.ip.String())
	}
	return out
}

// TestDestinationRulesRFC6724 checks the destination address selection examples of
// RFC 6724 section 10.2, both ways round.
func TestDestinationRulesRFC6724(t *testing.T) {
	tests := []struct {
		name string
		srcs []string
		dsts []string
		want []string
	}{
		{"matching scope", []string{"2001:db8:1::2", "fe80::1", "169.254.13.78/16"}, []string{"2001:db8:1::1", "198.51.100.121"},
			[]string{"2001:db8:1::1 from 2001:db8:1::2", "198.51.100.121 from 169.254.13.78"}},
		{"matching scope ipv4 first", []string{"fe80::1", "198.51.100.117"}, []string{"2001:db8:1::1", "198.51.100.121"},
			[]string{"198.51.100.121 from 198.51.100.117", "2001:db8:1::1 from fe80::1"}},
		{"higher precedence", []string{"2001:db8:1::2", "fe80::1", "10.1.2.4"}, []string{"2001:db8:1::1", "10.1.2.3"},
			[]string{"2001:db8:1::1 from 2001:db8:1::2", "10.1.2.3 from 10.1.2.4"}},
		{"smaller scope", []string{"2001:db8:1::2", "fe80::2"}, []string{"2001:db8:1::1", "fe80::1"},
			[]string{"fe80::1 from fe80::2", "2001:db8:1::1 from 2001:db8:1::2"}},
		// 10.2's home-address example needs Mobile IPv6 (rule 4), not modelled.
		{"avoid deprecated", []string{"2001:db8:1::2", "fe80::2 deprecated"}, []string{"2001:db8:1::1", "fe80::1"},
			[]string{"2001:db8:1::1 from 2001:db8:1::2", "fe80::1 from fe80::2"}},
		{"longest matching prefix", []string{"2001:db8:1::2", "3f44::2", "fe80::2"}, []string{"2001:db8:1::1", "3ffe::1"},
			[]string{"2001:db8:1::1 from 2001:db8:1::2", "3ffe::1 from 3f44::2"}},
		{"matching label", []string{"2002:c633:6401::2", "fe80::2"}, []string{"2002:c633:6401::1", "2001:db8:1::1"},
			[]string{"2002:c633:6401::1 from 2002:c633:6401::2", "2001:db8:1::1 from 2002:c633:6401::2"}},
		{"higher precedence 6to4", []string{"2002:c633:6401::2", "2001:db8:1::2", "fe80::2"}, []string{"2002:c633:6401::1", "2001:db8:1::1"},
			[]string{"2001:db8:1::1 from 2001:db8:1::2", "2002:c633:6401::1 from 2002:c633:6401::2"}},
		{"rule 9 only for ipv6 (Go issue 13283)", []string{"10.2.3.4/8"}, []string{"54.83.193.112", "23.23.172.185", "10.9.9.9"},
			[]string{"54.83.193.112 from 10.2.3.4", "23.23.172.185 from 10.2.3.4", "10.9.9.9 from 10.2.3.4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srcs []srcAttr
			for _, s := range tt.srcs {
				srcs = append(srcs, src(t, s))
			}
			var dsts []netip.Addr
			for _, d := range tt.dsts {
				dsts = append(dsts, ip(d))
			}
			if got := sortDestinations(dsts, srcs); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if strings.Contains(tt.name, "13283") {
				return // rule 10 keeps the input order
			}
			if got := sortDestinations(reversed(dsts), srcs); !slices.Equal(got, tt.want) {
				t.Errorf("reversed input: got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPolicyTable(t *testing.T) {
	tab := DefaultPolicyTable()
	tests := []struct {
		ip                string
		precedence, label uint8
	}{
		{"::1", 50, 0},
		{"2001:db8::1", 40, 1},
		{"192.0.2.1", 35, 4},
		{"::ffff:192.0.2.1", 35, 4},
		{"2002:c633:6401::1", 30, 2},
		{"2001::1", 5, 5},
		{"fd00::1", 3, 13},
		{"::192.0.2.1", 1, 3},
		{"fec0::1", 1, 11},
		{"3ffe::1", 1, 12},
		{"fe80::1%eth0", 40, 1},
	}
	for _, tt := range tests {
		e := tab.Lookup(ip(tt.ip))
		if e.Precedence != tt.precedence || e.Label != tt.label {
			t.Errorf("Lookup(%s) = %d/%d, want %d/%d", tt.ip, e.Precedence, e.Label, tt.precedence, tt.label)
		}
	}
	if e := (PolicyTable{}).Lookup(ip("::1")); e != (PolicyEntry{}) {
		t.Errorf("empty table: Lookup = %+v, want zero", e)
	}
}

func TestCommonPrefixLen(t *testing.T) {
	tests := []struct {
		a, b  string
		limit int
		want  int
	}{
		{"2001:db8::1", "2001:db8::2", 0, 64},
		{"2001:db8::1", "2001:db8::2", 128, 64},
		{"2001:db8::1", "2001:db8:8000::1", 64, 32},
		{"2001:db8::1", "2001:db9::1", 48, 31},
		{"2001:db8::1", "2001:db8:1::1", 16, 16},
		{"10.0.0.1", "10.0.0.2", 32, 30},
		{"10.0.0.1", "10.0.0.2", 24, 24},
		{"10.0.0.1", "2001:db8::1", 0, 0},
		{"128.0.0.1", "0.0.0.1", 0, 0},
	}
	for _, tt := range tests {
		if got := commonPrefixLen(ip(tt.a), ip(tt.b), tt.limit); got != tt.want {
			t.Errorf("commonPrefixLen(%s, %s, %d) = %d, want %d", tt.a, tt.b, tt.limit, got, tt.want)
		}
	}
}

// TestSrcKeyCompare checks that comparing two source keys finds the rule of the
// first field (in rule order) where they differ, whatever is kept in the bits
// below the key.
func TestSrcKeyCompare(t *testing.T) {
	widths := [...]uint{1, 8, 1, 1, 1, 1, 8}
	pack := func(f [len(widths)]uint8, low uint64) srcKey {
		var v uint64
		for i, w := range widths {
			v = v<<w | uint64(f[i])
		}
		return srcKey(v<<srcKeyShift | low)
	}
	base := [len(widths)]uint8{1, 0x80, 1, 1, 1, 1, 0x80}
	fields := [][len(widths)]uint8{base}
	for i, w := range widths {
		for _, v := range []uint8{0, 1, 0x7f, 0xff} {
			if v < 1<<w {
				f := base
				f[i] = v
				fields = append(fields, f)
			}
		}
	}
	for _, a := range fields {
		for _, b := range fields {
			wantC, wantR := 0, rule{}
			for i := range a {
				if a[i] != b[i] {
					wantC, wantR = cmp.Compare(a[i], b[i]), rule{n: srcRuleNums[i]}
					break
				}
			}
			if c, r := pack(a, 3).compare(pack(b, 12345)); c != wantC || r != wantR {
				t.Errorf("%v vs %v: compare = %d, %v; want %d, %v", a, b, c, r, wantC, wantR)
			}
		}
	}
}
