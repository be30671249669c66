package pairs

import (
	"math/bits"
	"slices"
)

// radixMin is the number of keys from which sortKeys sorts by radix rather than
// by comparison. In BenchmarkSortKeys, on the keys of benchInput's rankings, the
// two cost the same at 256 and 400 keys, and the radix sort is the faster from
// 576 keys on (3.4 against 3.8 µs; at 4,096 keys, 20 against 36 µs).
const radixMin = 512

// sortKeys sorts keys in increasing order and returns them sorted, in keys or
// in tmp, which must be at least as long; at is the radix sort's scratch (kept
// off the stack: goroutine stacks grow by copying). The keys must be distinct,
// and already in increasing order of their low `low` bits, as rank's keys are
// when made in RFC 6724 order (the place is their low bits): from radixMin keys
// on, sortKeys sorts stably by the bits above only, by digits of up to 11
// bits, least significant first (see radixSort). Its time then grows linearly
// with the number of keys, where a comparison sort's grows as n log n.
func sortKeys(keys, tmp []uint64, low uint, at *radixCounts) []uint64 {
	if len(keys) < radixMin {
		slices.Sort(keys)
		return keys
	}
	return radixSort(keys, tmp, low, 11, at)
}

// radixCounts is a radix sort's scratch: where the keys with each value of a
// digit (11 bits at most) go.
type radixCounts [2048]int32

// sourceRadixMin is the number of sources of one destination from which
// sortSources sorts them by radix. In BenchmarkSortSources the radix sort is
// the faster from 24 sources on.
const sourceRadixMin = 24

// sortSources sorts the keys of one destination's sources and returns them
// sorted, in keys or in tmp, which must be at least as long; at is scratch, as
// sortKeys'. Each key holds a source's rule values (a srcKey) in its top
// srcKeyBits bits and its candidate below them, and the keys come in
// increasing order of candidate (rankSources makes them so). From
// sourceRadixMin keys on, sortSources sorts stably by the rule values only, by
// digits of up to four bits (see radixSort), so that its time per source does
// not grow with the sources, as a comparison sort's does.
func sortSources(keys, tmp []uint64, at *radixCounts) []uint64 {
	if len(keys) < sourceRadixMin {
		slices.Sort(keys)
		return keys
	}
	return radixSort(keys, tmp, srcKeyShift, 4, at)
}

// radixSort sorts keys stably by their bits above low, least significant digit
// first. Its digits cover the span of bits in which keys differ, in as few
// passes of at most maxDigit (at most 11) bits as the span needs, evenly wide;
// a digit that all keys share is skipped. It returns the keys sorted, in keys
// or in tmp.
func radixSort(keys, tmp []uint64, low, maxDigit uint, at *radixCounts) []uint64 {
	some, all := uint64(0), ^uint64(0)
	for _, k := range keys {
		some |= k
		all &= k
	}
	differ := (some ^ all) >> low << low
	if differ == 0 {
		return keys
	}
	first, end := uint(bits.TrailingZeros64(differ)), uint(bits.Len64(differ))
	passes := (end - first + maxDigit - 1) / maxDigit
	digit := (end - first + passes - 1) / passes
	mask := uint64(1)<<digit - 1
	counts := at[:mask+1]
	from, to := keys, tmp[:len(keys)]
	for s := first; s < end; s += digit {
		if differ>>s&mask == 0 {
			continue
		}
		clear(counts)
		for _, k := range from {
			counts[k>>s&mask]++
		}
		// counts[v] becomes where the first key with digit value v goes.
		next := int32(0)
		for v, n := range counts {
			counts[v], next = next, next+n
		}
		for _, k := range from {
			v := k >> s & mask
			to[counts[v]] = k
			counts[v]++
		}
		from, to = to, from
	}
	return from
}
