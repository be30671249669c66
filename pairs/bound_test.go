package pairs

import (
	"context"
	"net/netip"
	"slices"
	"testing"
)

// TestBoundDestinationsKeepsFirstOfEachFamily checks which of a name's
// addresses a query pairs up: the first maxDestinationsPerFamily of each
// family, in the resolver's order, on a host of a few sources; and that
// LookupNetIP still returns every address, those left out after the others.
func TestBoundDestinationsKeepsFirstOfEachFamily(t *testing.T) {
	answer := bigAnswer(40) // 40 AAAA and 40 A, interleaved
	s, _ := newTestSelector(t, homeSnapshot(), fakeDNS{"many.example": answer})
	ctx := context.Background()

	ps := must(s.Get(ctx, "many.example", 443))
	paired := map[netip.Addr]bool{}
	for _, p := range ps {
		paired[p.Dst.Addr()] = true
	}
	var want []netip.Addr
	var n4, n6 int
	for _, a := range answer {
		if c := map[bool]*int{true: &n4, false: &n6}[a.Is4()]; *c < maxDestinationsPerFamily {
			*c++
			want = append(want, a)
		}
	}
	for _, a := range answer {
		if paired[a] != slices.Contains(want, a) {
			t.Errorf("%v paired: %v; want %v (the first %d of each family)", a, paired[a], !paired[a], maxDestinationsPerFamily)
		}
	}

	got, err := s.LookupNetIP(ctx, "ip", "many.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(answer) {
		t.Fatalf("LookupNetIP returned %d addresses, want all %d", len(got), len(answer))
	}
	// The lookup asks AAAA and A apart: the resolver's order is each family's.
	rest := got[len(want):]
	for _, is4 := range []bool{false, true} {
		var gotFam, wantFam []netip.Addr
		for _, a := range rest {
			if a.Is4() == is4 {
				gotFam = append(gotFam, a)
			}
		}
		for _, a := range answer {
			if a.Is4() == is4 && !slices.Contains(want, a) {
				wantFam = append(wantFam, a)
			}
		}
		if !slices.Equal(gotFam, wantFam) {
			t.Errorf("LookupNetIP's addresses left out (IPv4 %v): %v, want in the resolver's order %v", is4, gotFam, wantFam)
		}
	}
}

// TestDestinationsPerFamilyShrinksWithSources checks that a host with many
// sources pairs fewer destinations, at least one.
func TestDestinationsPerFamilyShrinksWithSources(t *testing.T) {
	for _, tt := range []struct{ srcs, want int }{
		{0, maxDestinationsPerFamily}, {4, maxDestinationsPerFamily}, {32, maxDestinationsPerFamily},
		{64, maxPairsPerFamily / 64}, {512, 1}, {5000, 1},
	} {
		v := &view{srcs: make([]source, tt.srcs)}
		if got := destinationsPerFamily(v); got != tt.want {
			t.Errorf("%d sources: %d destinations per family, want %d", tt.srcs, got, tt.want)
		}
	}
}
