package nat64

import (
	"net/netip"
	"slices"
	"testing"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// answers synthesizes both well-known addresses under p, as a DNS64 would.
func answers(p string) []string {
	var out []string
	for _, w := range []netip.Addr{WellKnownAddr, WellKnownAddr2} {
		a, ok := synthesizeAny(netip.MustParsePrefix(p), w)
		if !ok {
			panic(p)
		}
		out = append(out, a.String())
	}
	return out
}

// synthesizeAny is Synthesize without the checks on the IPv4 address: the
// well-known addresses are in 192.0.0.0/24, which Synthesize keeps out of the
// Well-Known Prefix.
func synthesizeAny(p netip.Prefix, v4 netip.Addr) (netip.Addr, bool) {
	if CheckPrefix(p) != nil {
		return netip.Addr{}, false
	}
	a, b := p.Addr().As16(), v4.As4()
	for k, i := range positions(p.Bits()) {
		a[i] = b[k]
	}
	return netip.AddrFrom16(a), true
}

func TestPrefixesFromAnswers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []string
		want    []string
	}{
		{"well-known prefix", answers("64:ff9b::/96"), []string{"64:ff9b::/96"}},
		{"lab prefix", answers("2001:db8:6464::/96"), []string{"2001:db8:6464::/96"}},
		{"/64", answers("2001:db8:122:344::/64"), []string{"2001:db8:122:344::/64"}},
		{"/56", answers("2001:db8:122:300::/56"), []string{"2001:db8:122:300::/56"}},
		{"/48", answers("2001:db8:122::/48"), []string{"2001:db8:122::/48"}},
		{"/40", answers("2001:db8:100::/40"), []string{"2001:db8:100::/40"}},
		{"/32", answers("2001:db8::/32"), []string{"2001:db8::/32"}},
		{"only the first address", answers("2001:db8::/32")[:1], []string{"2001:db8::/32"}},
		{"only the second address", answers("2001:db8::/32")[1:], []string{"2001:db8::/32"}},
		{"two prefixes", append(answers("64:ff9b::/96"), answers("2001:db8:6464::/96")...),
			[]string{"64:ff9b::/96", "2001:db8:6464::/96"}},
		{"repeated", append(answers("64:ff9b::/96"), answers("64:ff9b::/96")...), []string{"64:ff9b::/96"}},
		{"real addresses", []string{"2001:db8::1", "2001:db8:5::10"}, nil},
		{"ipv4-mapped", []string{"::ffff:192.0.0.170"}, nil},
		{"ipv4", []string{"192.0.0.170"}, nil},
		{"no answers", nil, nil},
		// 2001:db8:c000:aa::c000:aa embeds 192.0.0.170 twice: at /32 (bytes 4
		// to 7) and at /96 (bytes 12 to 15). The other answer settles it.
		{"ambiguous, the /96 holds the second address",
			[]string{"2001:db8:c000:aa::c000:aa", "2001:db8:c000:aa::c000:ab"}, []string{"2001:db8:c000:aa::/96"}},
		{"ambiguous, the /32 holds the second address",
			[]string{"2001:db8:c000:aa::c000:aa", "2001:db8:c000:ab::"}, []string{"2001:db8::/32"}},
		{"ambiguous, alone: the longest", []string{"2001:db8:c000:aa::c000:aa"}, []string{"2001:db8:c000:aa::/96"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PrefixesFromAnswers(addrs(tc.answers...))
			var want []netip.Prefix
			if tc.want != nil {
				want = prefixes(tc.want...)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("PrefixesFromAnswers(%v) = %v; want %v", tc.answers, got, want)
			}
		})
	}
}

// FuzzPrefixesFromAnswers feeds answer lists (16 bytes per address): every
// prefix found must be a valid PREF64 under which some answer embeds a
// well-known address, and the result must not depend on duplicates.
func FuzzPrefixesFromAnswers(f *testing.F) {
	seed := func(ss ...string) []byte {
		var b []byte
		for _, a := range addrs(ss...) {
			s := a.As16()
			b = append(b, s[:]...)
		}
		return b
	}
	f.Add(seed(answers("64:ff9b::/96")...))
	f.Add(seed(answers("2001:db8:122:300::/56")...))
	f.Add(seed("2001:db8:c000:aa::c000:aa", "2001:db8:c000:ab::"))
	f.Add(seed("2001:db8::1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var in []netip.Addr
		for len(b) >= 16 {
			in = append(in, netip.AddrFrom16([16]byte(b[:16])))
			b = b[16:]
		}
		got := PrefixesFromAnswers(in)
		for _, p := range got {
			if err := CheckPrefix(p); err != nil {
				t.Fatalf("%v: %v", in, err)
			}
			found := false
			for _, a := range in {
				if !p.Contains(a) {
					continue
				}
				if w, ok := extractAny(p, a); ok && (w == WellKnownAddr || w == WellKnownAddr2) {
					found = true
				}
			}
			if !found {
				t.Fatalf("%v: prefix %v embeds no well-known address", in, p)
			}
		}
		if again := PrefixesFromAnswers(append(slices.Clone(in), in...)); !slices.Equal(again, got) {
			t.Fatalf("%v: with duplicates %v; without %v", in, again, got)
		}
	})
}
