package probe

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestNearTableAsMap adds and removes pairs at random in a nearTable and in a
// map beside it, keys chosen among few prefixes (so that they collide, probe
// past each other and wrap around the table's end) and then among many (so
// that it grows and shrinks), and checks after every step that both hold the
// same pairs, each at the index it was told.
func TestNearTableAsMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tab nearTable
	model := map[nearKey][]*pair{}
	where := map[*pair]nearKey{}
	var live []*pair
	check := func(step int) {
		t.Helper()
		n, seen := 0, 0
		for ps := range tab.all() {
			n++
			seen += len(ps)
		}
		if n != len(model) || n != tab.n || seen != len(live) {
			t.Fatalf("step %d: %d prefixes (n %d), %d pairs; want %d prefixes, %d pairs", step, n, tab.n, seen, len(model), len(live))
		}
		for k, want := range model {
			got := tab.get(k)
			if !slices.Equal(got, want) {
				t.Fatalf("step %d: prefix %#x holds %d pairs, want %d", step, k, len(got), len(want))
			}
			for i, p := range got {
				if p.near != i {
					t.Fatalf("step %d: pair at %d of prefix %#x says %d", step, i, k, p.near)
				}
			}
		}
		if len(tab.slots) > minNearSlots && 8*tab.n < len(tab.slots)/2 {
			t.Fatalf("step %d: %d prefixes in %d slots: not shrunk", step, tab.n, len(tab.slots))
		}
	}
	for _, phase := range []struct {
		keys  int // distinct prefixes to draw from
		steps int
		add   float64 // the chance that a step adds rather than removes
	}{
		{keys: 5, steps: 2000, add: 0.6},
		{keys: 5000, steps: 20000, add: 0.7},
		{keys: 5000, steps: 20000, add: 0.2},
		{keys: 3, steps: 500, add: 0.5},
	} {
		for step := range phase.steps {
			if len(live) == 0 || rng.Float64() < phase.add {
				// Keys as nearKeyOf makes them: a family above 32 bits of prefix.
				k := nearKey(1+rng.IntN(2))<<32 | nearKey(rng.IntN(phase.keys))<<12
				p := &pair{dst: netip.AddrFrom4([4]byte{byte(step), byte(step >> 8), 0, 1})}
				p.near = tab.add(k, p)
				model[k] = append(model[k], p)
				where[p] = k
				live = append(live, p)
			} else {
				j := rng.IntN(len(live))
				p := live[j]
				live[j] = live[len(live)-1]
				live = live[:len(live)-1]
				k := where[p]
				delete(where, p)
				if moved := tab.remove(k, p.near); moved != nil {
					moved.near = p.near
				}
				l := model[k]
				l[p.near] = l[len(l)-1]
				if l = l[:len(l)-1]; len(l) == 0 {
					delete(model, k)
				} else {
					model[k] = l
				}
			}
			check(step)
		}
	}
	if tab.get(1<<32) != nil {
		t.Fatal("a prefix never added holds pairs")
	}
}
