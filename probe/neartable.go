package probe

import (
	"iter"
	"math/bits"
)

// nearTable holds a source's pairs by the NearbyPrefix of their destination
// (nearKey), in an open addressing table with linear probing. A ranking looks
// a prefix up once per source and per prefix of its destinations; a Go map
// hashes its keys once it holds more than eight, and that lookup made a
// ranking's cost per pair grow with the number of prefixes (BenchmarkRankGrowth
// in package pairs, 5 runs: 1.017-1.039 with a map, median 0.989 with this
// table). Its zero value is an empty table.
type nearTable struct {
	slots []nearSlot // a power of two long; a slot with no pairs is free
	n     int        // the slots in use
}

// nearSlot is one prefix's pairs, in no particular order.
type nearSlot struct {
	key   nearKey
	pairs []*pair
}

// minNearSlots is a nearTable's size once it holds anything.
const minNearSlots = 8

// home is where key's slot is when nothing was in the way: the key multiplied
// by 2⁶⁴/φ, its top bits (Fibonacci hashing, which spreads the keys' prefix bits
// and family across the table).
func (t *nearTable) home(key nearKey) int {
	return int((uint64(key) * 0x9e3779b97f4a7c15) >> (64 - bits.TrailingZeros(uint(len(t.slots)))))
}

// find returns the index of key's slot, or of the free slot where it would go.
func (t *nearTable) find(key nearKey) int {
	mask := len(t.slots) - 1
	i := t.home(key)
	for t.slots[i].pairs != nil && t.slots[i].key != key {
		i = (i + 1) & mask
	}
	return i
}

// get returns the pairs of the prefix key, or nil.
func (t *nearTable) get(key nearKey) []*pair {
	if t.n == 0 {
		return nil
	}
	return t.slots[t.find(key)].pairs
}

// add adds p to the pairs of the prefix key and returns its index there.
func (t *nearTable) add(key nearKey, p *pair) int {
	if 4*(t.n+1) > 3*len(t.slots) {
		t.resize(max(minNearSlots, 2*len(t.slots)))
	}
	s := &t.slots[t.find(key)]
	if s.pairs == nil {
		s.key = key
		t.n++
	}
	s.pairs = append(s.pairs, p)
	return len(s.pairs) - 1
}

// remove removes the pair at index i of the prefix key's pairs, in O(1): the
// last one takes its place, and is returned (nil when it was the last). A
// prefix left with no pairs frees its slot.
func (t *nearTable) remove(key nearKey, i int) (moved *pair) {
	at := t.find(key)
	s := &t.slots[at]
	last := len(s.pairs) - 1
	if i != last {
		moved = s.pairs[last]
		s.pairs[i] = moved
	}
	s.pairs[last] = nil
	if s.pairs = s.pairs[:last]; last > 0 {
		return moved
	}
	t.free(at)
	t.n--
	if len(t.slots) > minNearSlots && 8*t.n < len(t.slots) {
		t.resize(len(t.slots) / 2)
	}
	return moved
}

// free empties slot i and moves back the slots after it that their keys' homes
// allow, so that every key stays reachable from its home without a gap (Knuth,
// TAOCP vol. 3, 6.4, Algorithm R).
func (t *nearTable) free(i int) {
	mask := len(t.slots) - 1
	for {
		t.slots[i] = nearSlot{}
		j := i
		for {
			j = (j + 1) & mask
			if t.slots[j].pairs == nil {
				return
			}
			h := t.home(t.slots[j].key)
			// The slot j stays when its home is cyclically in (i, j].
			if i <= j && i < h && h <= j || i > j && (i < h || h <= j) {
				continue
			}
			t.slots[i] = t.slots[j]
			i = j
			break
		}
	}
}

// resize moves the slots in use to a table of n slots, a power of two.
func (t *nearTable) resize(n int) {
	old := t.slots
	t.slots = make([]nearSlot, n)
	for _, s := range old {
		if s.pairs != nil {
			t.slots[t.find(s.key)] = s
		}
	}
}

// all yields the pairs of every prefix, in no particular order.
func (t *nearTable) all() iter.Seq[[]*pair] {
	return func(yield func([]*pair) bool) {
		for _, s := range t.slots {
			if s.pairs != nil && !yield(s.pairs) {
				return
			}
		}
	}
}
