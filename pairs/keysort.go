package pairs

import "slices"

// radixMin is the number of keys from which sortKeys sorts by radix rather than
// by comparison. In BenchmarkSortKeys, alone, the two cost about the same per key
// from 1,000 keys on and slices.Sort is faster below; within a ranking of 64 × 64
// (4,096 keys) the radix sort saves 11% of BenchmarkRank64x64.
const radixMin = 512

// sortKeys sorts keys in increasing order and returns them sorted, in keys or
// in tmp, which must be at least as long; at is the radix sort's scratch (kept
// off the stack: goroutine stacks grow by copying). The keys must be distinct,
// and already in increasing order of their low `low` bits, as rank's keys are
// when made in RFC 6724 order (the place is their low bits): from radixMin keys
// on, sortKeys sorts stably by the bits above only, by their bytes, least
// significant first, skipping each byte that all keys share. Its time then grows
// linearly with the number of keys, where a comparison sort's grows as n log n.
func sortKeys(keys, tmp []uint64, low uint, at *radixCounts) []uint64 {
	if len(keys) < radixMin {
		slices.Sort(keys)
		return keys
	}
	return radixSort(keys, tmp, low, 8, at)
}

// radixCounts is a radix sort's scratch: where the keys with each value of a
// digit (a byte at most) go.
type radixCounts [256]int32

// sourceRadixMin is the number of sources of one destination from which
// sortSources sorts them by radix. In BenchmarkSortSources the radix sort is
// the faster from 24 sources on.
const sourceRadixMin = 24

// sortSources sorts the keys of one destination's sources and returns them
// sorted, in keys or in tmp, which must be at least as long; at is scratch, as
// sortKeys'. Each key holds a source's rule values (a srcKey) in its top
// srcKeyBits bits and its candidate below them, and the keys come in
// increasing order of candidate (rankSources makes them so). From
// sourceRadixMin keys on, sortSources sorts stably by the rule values only,
// four bits at a time, skipping those that all keys share, so that its time
// per source does not grow with the sources, as a comparison sort's does.
func sortSources(keys, tmp []uint64, at *radixCounts) []uint64 {
	if len(keys) < sourceRadixMin {
		slices.Sort(keys)
		return keys
	}
	return radixSort(keys, tmp, srcKeyShift, 4, at)
}

// radixSort sorts keys stably by their bits above low, least significant digit
// first, digit (at most 8) bits at a time, skipping each digit that all keys
// share. It returns the keys sorted, in keys or in tmp.
func radixSort(keys, tmp []uint64, low, digit uint, at *radixCounts) []uint64 {
	// The digits (of the bits above low) in which keys differ.
	some, all := uint64(0), ^uint64(0)
	for _, k := range keys {
		some |= k
		all &= k
	}
	differ := (some ^ all) >> low
	mask := byte(1<<digit - 1)
	counts := at[:int(mask)+1]
	from, to := keys, tmp[:len(keys)]
	for b := uint(0); b < 64-low; b += digit {
		if byte(differ>>b)&mask == 0 {
			continue
		}
		s := low + b
		clear(counts)
		for _, k := range from {
			at[byte(k>>s)&mask]++
		}
		// at[v] becomes where the first key with digit value v goes.
		next := int32(0)
		for v, n := range counts {
			counts[v], next = next, next+n
		}
		for _, k := range from {
			v := byte(k>>s) & mask
			to[at[v]] = k
			at[v]++
		}
		from, to = to, from
	}
	return from
}
