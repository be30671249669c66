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
	return radixSort(keys, tmp, low, at)
}

// radixCounts is a radix sort's scratch: where the keys with each value of a
// byte go.
type radixCounts [256]int32

// radixSort sorts keys as sortKeys does from radixMin keys on.
func radixSort(keys, tmp []uint64, low uint, at *radixCounts) []uint64 {
	// The bytes (of the bits above low) in which keys differ.
	some, all := uint64(0), ^uint64(0)
	for _, k := range keys {
		some |= k
		all &= k
	}
	differ := (some ^ all) >> low
	from, to := keys, tmp[:len(keys)]
	for b := uint(0); b < 64-low; b += 8 {
		if byte(differ>>b) == 0 {
			continue
		}
		s := low + b
		clear(at[:])
		for _, k := range from {
			at[byte(k>>s)]++
		}
		// at[v] becomes where the first key with byte value v goes.
		next := int32(0)
		for v, n := range at {
			at[v], next = next, next+n
		}
		for _, k := range from {
			v := byte(k >> s)
			to[at[v]] = k
			at[v]++
		}
		from, to = to, from
	}
	return from
}
