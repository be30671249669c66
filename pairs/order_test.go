package pairs

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/getapr/getapr/probe"
)

// p parses "src>dst [dead|deprecated]" into a Pair.
func p(spec string) Pair {
	f := strings.Fields(spec)
	sd := strings.Split(f[0], ">")
	pr := Pair{Src: netip.AddrPortFrom(ip(sd[0]), 0), Dst: netip.AddrPortFrom(ip(sd[1]), 80)}
	for _, flag := range f[1:] {
		switch flag {
		case "dead":
			pr.Health = probe.Dead
		case "deprecated":
			pr.Deprecated = true
		}
	}
	return pr
}

func TestOrder(t *testing.T) {
	const (
		a6, b6 = "2001:db8:a::1", "2001:db8:b::1"
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
		{"deprecated stays after usable", 1,
			[]string{a6 + ">" + d6, a6 + ">" + e6, b6 + ">" + d6 + " deprecated"},
			[]int{0, 1, 2}},
		{"first family count below 1 means 1", 0,
			[]string{a6 + ">" + d6, b6 + ">" + d6, a4 + ">" + d4},
			[]int{0, 2, 1}},
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
