package pairs

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestSortKeys checks sortKeys against slices.Sort, below and above radixMin, on
// keys made as rank makes them: their low bits the place, counting up, and above
// them values that differ in a few bytes (tier and latency), in every byte, or not
// at all.
func TestSortKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := map[string]func(i int) uint64{
		"random":   func(int) uint64 { return rng.Uint64() },
		"rank":     func(int) uint64 { return uint64(rng.IntN(4))<<50 | uint64(rng.IntN(1<<17)) },
		"same":     func(int) uint64 { return 0xbeef_0000_0001 },
		"few":      func(int) uint64 { return uint64(rng.IntN(3)) << 30 },
		"reversed": func(i int) uint64 { return uint64(1<<20 - i) },
	}
	for name, high := range shapes {
		for _, n := range []int{0, 1, 2, radixMin - 1, radixMin, radixMin + 1, 1000, 4096} {
			t.Run(name+"/"+strconv.Itoa(n), func(t *testing.T) {
				low := uint(bits.Len(uint(n)))
				keys := make([]uint64, n)
				for i := range keys {
					keys[i] = high(i)<<low | uint64(i)
				}
				want := slices.Sorted(slices.Values(keys))
				got := sortKeys(slices.Clone(keys), make([]uint64, n), low, new(radixCounts))
				if !slices.Equal(got, want) {
					t.Fatalf("sortKeys differs from slices.Sort")
				}
			})
		}
	}
}

// BenchmarkSortKeys compares radixSort with slices.Sort on the keys rank sorts
// for n × n candidates (benchInput), in the order rank makes them (see
// radixMin).
func BenchmarkSortKeys(b *testing.B) {
	for _, n := range []int{16, 20, 24, 32, 64} {
		in := benchInput(n)
		ws := new(workspace)
		ps := rank(in, ws)
		kb := newKeyBits(len(ps))
		keys := slices.Clone(ws.keys[:len(ps)])
		slices.SortFunc(keys, func(a, b uint64) int { return int(kb.pos(a)) - int(kb.pos(b)) })
		buf, tmp, count := make([]uint64, len(keys)), make([]uint64, len(keys)), new(radixCounts)
		name := strconv.Itoa(len(keys))
		b.Run("radix/"+name, func(b *testing.B) {
			for b.Loop() {
				copy(buf, keys)
				radixSort(buf, tmp, kb.posBits, count)
			}
		})
		b.Run("pdq/"+name, func(b *testing.B) {
			for b.Loop() {
				copy(buf, keys)
				slices.Sort(buf)
			}
		})
	}
}
