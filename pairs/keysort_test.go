package pairs

import (
	"cmp"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestSortKeys checks sortKeys against slices.Sort, below and above radixMin, on
// keys made as rank makes them: their low bits the place, counting up, and above
// them values that differ in a few bytes (tier and latency, apart or fitted side
// by side), in every byte, or not at all.
func TestSortKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := map[string]func(i int) uint64{
		"random":   func(int) uint64 { return rng.Uint64() },
		"rank":     func(int) uint64 { return uint64(rng.IntN(4))<<50 | uint64(rng.IntN(1<<17)) },
		"fitted":   func(int) uint64 { return uint64(rng.IntN(4))<<19 | uint64(rng.IntN(1<<19)) },
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

// TestSortSources checks sortSources against slices.Sort, below and above
// sourceRadixMin, on keys made as rankSources makes them: rule values in the
// top srcKeyBits bits (differing in a few bits, in all, or not at all), and
// below them candidate indexes that count up.
func TestSortSources(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	shapes := map[string]func(i int) uint64{
		"random":   func(int) uint64 { return rng.Uint64N(1 << srcKeyBits) },
		"few":      func(int) uint64 { return uint64(rng.IntN(4))<<3 | 1<<20 },
		"spread":   func(int) uint64 { return uint64(rng.IntN(2))<<19 | uint64(rng.IntN(256)) },
		"same":     func(int) uint64 { return 0x1_2345 },
		"reversed": func(i int) uint64 { return uint64(1<<srcKeyBits - 1 - i) },
	}
	for name, high := range shapes {
		for _, n := range []int{0, 1, 2, sourceRadixMin - 1, sourceRadixMin, sourceRadixMin + 1, 64, 300} {
			t.Run(name+"/"+strconv.Itoa(n), func(t *testing.T) {
				keys := make([]uint64, n)
				ci := uint64(0)
				for i := range keys {
					ci += 1 + rng.Uint64N(1000)
					keys[i] = high(i)<<srcKeyShift | ci
				}
				want := slices.Sorted(slices.Values(keys))
				got := sortSources(slices.Clone(keys), make([]uint64, n), new(radixCounts))
				if !slices.Equal(got, want) {
					t.Fatalf("sortSources differs from slices.Sort")
				}
			})
		}
	}
}

// BenchmarkSortSources compares the radix sort of sortSources with slices.Sort
// on the keys of one destination's n sources in benchInput, in the order
// rankSources makes them (see sourceRadixMin).
func BenchmarkSortSources(b *testing.B) {
	for _, n := range []int{8, 16, 20, 24, 32, 64} {
		in := benchInput(n)
		r := newRanking(in, new(workspace))
		r.rankSources()
		keys := r.sourceKeys(0, nil)
		slices.SortFunc(keys, func(a, b uint64) int { return cmp.Compare(a&(1<<srcKeyShift-1), b&(1<<srcKeyShift-1)) })
		buf, tmp := make([]uint64, len(keys)), make([]uint64, len(keys))
		count := new(radixCounts)
		name := strconv.Itoa(n)
		b.Run("radix/"+name, func(b *testing.B) {
			for b.Loop() {
				copy(buf, keys)
				radixSort(buf, tmp, srcKeyShift, 4, count)
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
				radixSort(buf, tmp, kb.posBits, 11, count)
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
