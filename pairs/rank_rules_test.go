package pairs

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestPackedKeysFollowRules checks that sorting candidates by their packed keys
// (keyBits.pack) is sorting them by the ranking rules read as a ladder
// (rules.compare), on random candidates: ties in tier, latency and the kernel's
// choice are frequent, and latencies span negative (biased) to hours.
func TestPackedKeysFollowRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lats := []time.Duration{-5 * time.Millisecond, 0, time.Microsecond, 1500 * time.Nanosecond,
		10 * time.Millisecond, 10*time.Millisecond + 999*time.Nanosecond, 200 * time.Millisecond, 3 * time.Hour}
	for round := range 200 {
		n := 1 + rng.IntN(300)
		rs := make([]rules, n)
		for i, p := range rng.Perm(n) {
			rs[i] = rules{tier: rng.IntN(4), latency: lats[rng.IntN(len(lats))], kernel: rng.IntN(3) == 0, place: uint32(p)}
		}
		byRules := slices.Clone(rs)
		slices.SortFunc(byRules, rules.compare)
		kb := newKeyBits(n)
		keys := make([]uint64, n)
		at := make([]rules, n) // by place
		for i, r := range rs {
			keys[i] = kb.pack(r)
			at[r.place] = r
		}
		slices.Sort(keys)
		for i, k := range keys {
			if got := at[kb.pos(k)]; got != byRules[i] {
				t.Fatalf("round %d, %d candidates: at %d the keys give %+v, the rules %+v", round, n, i, got, byRules[i])
			}
		}
	}
}
