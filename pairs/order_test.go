package pairs

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/getapr/getapr/probe"
)

// p parses "src>dst [@interface] [dead|deprecated]" into a Pair.
func p(spec string) Pair {
	f := strings.Fields(spec)
	sd := strings.Split(f[0], ">")
	pr := Pair{Src: netip.AddrPortFrom(ip(sd[0]), 0), Dst: netip.AddrPortFrom(ip(sd[1]), 80)}
	for _, flag := range f[1:] {
		switch {
		case flag == "dead":
			pr.Health = probe.Dead
		case flag == "deprecated":
			pr.Deprecated = true
		case strings.HasPrefix(flag, "@"):
			pr.Interface = flag[1:]
		}
	}
	return pr
}

func TestOrder(t *testing.T) {
	const (
		a6, b6 = "2001:db8:a::1", "2001:db8:b::1"
		c6     = "2001:db8:a::2"
		a4, b4 = "192.0.2.1", "198.51.100.1"
		d6, e6 = "2001:db8:d::1", "2001:db8:e::1"
		d4, e4 = "203.0.113.1", "203.0.113.2"
	)
	tests := []struct {
		name  string
		ffc   int
		in    []string
		wantI []int // indexes into in
	}{
		{"empty", 1, nil, nil},
		{"one", 1, []string{a6 + ">" + d6}, []int{0}},
		{"families interleave", 1,
			[]string{a6 + ">" + d6, a6 + ">" + e6, a4 + ">" + d4, a4 + ">" + e4},
			[]int{0, 2, 1, 3}},
		{"first family count 2", 2,
			[]string{a6 + ">" + d6, b6 + ">" + d6, a6 + ">" + e6, a4 + ">" + d4, b4 + ">" + d4},
			[]int{0, 1, 3, 2, 4}},
		{"ipv4 best first", 1,
			[]string{a4 + ">" + d4, a6 + ">" + d6, a4 + ">" + e4},
			[]int{0, 1, 2}},
		{"one family runs out", 1,
			[]string{a6 + ">" + d6, a4 + ">" + d4, a6 + ">" + e6, b6 + ">" + d6},
			[]int{0, 1, 3, 2}},
		{"source differs from the previous attempt", 1,
			[]string{a6 + ">" + d6, a6 + ">" + e6, b6 + ">" + d6, b6 + ">" + e6},
			[]int{0, 2, 1, 3}},
		{"a single source repeats", 1,
			[]string{a6 + ">" + d6, a6 + ">" + e6},
			[]int{0, 1}},
		{"a dead source does not move ahead", 1,
			[]string{a6 + ">" + d6, a6 + ">" + e6, b6 + ">" + d6 + " dead"},
			[]int{0, 1, 2}},
		{"a dead source takes one slot at a time", 1,
			[]string{a6 + ">" + d6 + " dead", a6 + ">" + e6 + " dead", b6 + ">" + d6 + " dead"},
			[]int{0, 2, 1}},
		{"a dead source of the other family does not move ahead", 1,
			[]string{a6 + ">" + d6, b6 + ">" + d6, a4 + ">" + d4 + " dead"},
			[]int{0, 1, 2}},
		{"nor within the first family count", 2,
			[]string{a4 + ">" + d4, a6 + ">" + d6, b4 + ">" + d4 + " dead", b6 + ">" + d6 + " dead"},
			[]int{0, 1, 3, 2}},
		{"deprecated stays after usable", 1,
			[]string{a6 + ">" + d6, a6 + ">" + e6, b6 + ">" + d6 + " deprecated"},
			[]int{0, 1, 2}},
		{"first family count below 1 means 1", 0,
			[]string{a6 + ">" + d6, b6 + ">" + d6, a4 + ">" + d4},
			[]int{0, 2, 1}},
		// One uplink's GUA and RFC 1918 address rank first; the second attempt
		// leaves by the other uplink.
		{"interface differs from the previous attempt of either family", 1,
			[]string{a6 + ">" + d6 + " @eth0", a4 + ">" + d4 + " @eth0", b6 + ">" + d6 + " @eth1", b4 + ">" + d4 + " @eth1"},
			[]int{0, 3, 2, 1}},
		{"another interface before another source", 1,
			[]string{a6 + ">" + d6 + " @eth0", c6 + ">" + d6 + " @eth0", b6 + ">" + d6 + " @eth1", a6 + ">" + e6 + " @eth0"},
			[]int{0, 2, 1, 3}},
		{"one interface: another source", 1,
			[]string{a6 + ">" + d6 + " @eth0", a6 + ">" + e6 + " @eth0", c6 + ">" + d6 + " @eth0"},
			[]int{0, 2, 1}},
		{"another interface only in the same tier", 1,
			[]string{a6 + ">" + d6 + " @eth0", c6 + ">" + d6 + " @eth0", b6 + ">" + d6 + " @eth1 dead"},
			[]int{0, 1, 2}},
		{"an unknown interface is not another one", 1,
			[]string{a6 + ">" + d6 + " @eth0", a6 + ">" + e6, b6 + ">" + d6 + " @eth0"},
			[]int{0, 2, 1}},
		{"interfaces alternate over many pairs", 1,
			[]string{a6 + ">" + d6 + " @eth0", a6 + ">" + e6 + " @eth0", c6 + ">" + d6 + " @eth0", c6 + ">" + e6 + " @eth0",
				b6 + ">" + d6 + " @eth1", b6 + ">" + e6 + " @eth1"},
			[]int{0, 4, 1, 5, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in, want []Pair
			for _, s := range tt.in {
				in = append(in, p(s))
			}
			for _, i := range tt.wantI {
				want = append(want, in[i])
			}
			orig := slices.Clone(in)
			got := Order(in, tt.ffc)
			if !slices.Equal(got, want) {
				t.Errorf("Order:\ngot  %v\nwant %v", pairStrings(got), pairStrings(want))
			}
			if !slices.Equal(in, orig) {
				t.Error("Order modified its input")
			}
		})
	}
}

func pairStrings(ps []Pair) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Src.Addr().String()+">"+p.Dst.Addr().String())
	}
	return out
}

// orderByScan is Order written as the plain scan its documentation describes,
// to check the run-jumping one against.
func orderByScan(ranked []Pair, ffc int) []Pair {
	ffc = max(ffc, 1)
	used := make([]bool, len(ranked))
	var out []Pair
	var prev [2]netip.Addr
	lastIf := ""
	pick := func(is6 bool) int {
		h := -1
		for i := range ranked {
			if !used[i] && ranked[i].Is6() == is6 {
				h = i
				break
			}
		}
		if h < 0 {
			return -1
		}
		firstIn := func(ok func(Pair) bool) int {
			for i := h; i < len(ranked); i++ {
				if used[i] || ranked[i].Is6() != is6 {
					continue
				}
				if tier(&ranked[i]) != tier(&ranked[h]) {
					return -1
				}
				if ok(ranked[i]) {
					return i
				}
			}
			return -1
		}
		f := b2i(is6)
		i := -1
		if lastIf != "" {
			i = firstIn(func(p Pair) bool { return p.Interface != "" && p.Interface != lastIf })
		}
		if i < 0 && prev[f].IsValid() {
			i = firstIn(func(p Pair) bool { return p.Src.Addr() != prev[f] })
		}
		if i < 0 {
			i = h
		}
		return i
	}
	first := ranked[0].Is6()
	for n := range ranked {
		fam := first
		if n >= ffc && (n-ffc)%2 == 0 {
			fam = !first
		}
		headTier := func(is6 bool) int { // the tier of the family's first unused pair; -1: none
			for i := range ranked {
				if !used[i] && ranked[i].Is6() == is6 {
					return tier(&ranked[i])
				}
			}
			return -1
		}
		if h, g := headTier(fam), headTier(!fam); h < 0 || (g >= 0 && g < h) {
			fam = !fam
		}
		i := pick(fam)
		used[i] = true
		prev[b2i(fam)], lastIf = ranked[i].Src.Addr(), ranked[i].Interface
		out = append(out, ranked[i])
	}
	return out
}

// TestOrderRandom compares Order with orderByScan on random rankings: a few
// sources on a few interfaces, both families, some dead or deprecated, sorted by
// tier like a ranking.
func TestOrderRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ifaces := []string{"", "eth0", "eth1", "wlan0"}
	for run := range 500 {
		n := 1 + rng.IntN(40)
		ranked := make([]Pair, n)
		for i := range ranked {
			s := rng.IntN(5)
			src := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(s)})
			dst := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 1, 15: byte(rng.IntN(4))})
			if rng.IntN(2) == 0 {
				src = netip.AddrFrom4([4]byte{192, 0, 2, byte(s)})
				dst = netip.AddrFrom4([4]byte{198, 51, 100, byte(rng.IntN(4))})
			}
			ranked[i] = Pair{Src: netip.AddrPortFrom(src, 0), Dst: netip.AddrPortFrom(dst, 80), Interface: ifaces[s%len(ifaces)]}
			switch rng.IntN(8) {
			case 0:
				ranked[i].Health = probe.Dead
			case 1:
				ranked[i].Deprecated = true
			}
		}
		slices.SortStableFunc(ranked, func(a, b Pair) int { return tier(&a) - tier(&b) })
		ffc := rng.IntN(3)
		if got, want := Order(ranked, ffc), orderByScan(ranked, ffc); !slices.Equal(got, want) {
			t.Fatalf("run %d, first family count %d:\nranked %v\ngot    %v\nwant   %v", run, ffc,
				pairStrings(ranked), pairStrings(got), pairStrings(want))
		}
	}
}
