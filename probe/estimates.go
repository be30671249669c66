package probe

import (
	"net/netip"
	"time"
)

// Estimate is what a ranking needs of one (source, destination) pair: an RTT
// estimate, the pair's own or a nearby destination's, and its middlebox
// verdict.
type Estimate struct {
	SRTT, RTTVar time.Duration // zero with Basis NoEstimate
	Basis        EstimateBasis
	// MiddleboxUntil, when not zero, says that the pair was Intercepted at the
	// time asked, and until when that verdict holds without new evidence.
	MiddleboxUntil time.Time
}

// EstimateBasis says where an Estimate comes from.
type EstimateBasis uint8

// Estimate bases.
const (
	NoEstimate     EstimateBasis = iota // nothing measured for the pair nor nearby
	PairEstimate                        // measured for this very pair
	NearbyEstimate                      // measured for a nearby destination (Nearby)
)

// Estimates sets out[i] to the estimate of the pair (src, dsts[i]) for every
// dst, under one read lock, and returns src's health (as From does): the pair's
// own SRTT and RTTVAR when it holds an RTT sample, else those Nearby(src,
// dsts[i]) returns when it finds a pair with one, else NoEstimate; and, when
// the pair is Intercepted at now, until when. It is the bulk read of a
// ranking: for destinations sharing a NearbyPrefix it looks for the nearby pair
// once. out must be at least as long as dsts (Estimates panics otherwise).
func (s *Store) Estimates(src netip.Addr, dsts []netip.Addr, now time.Time, out []Estimate) Health {
	out = out[:len(dsts)]
	src = addrKey(src)
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc := s.sources[src]
	if sc == nil {
		clear(out)
		return Unknown
	}
	var memo nearbyMemo
	for i, d := range dsts {
		d = addrKey(d)
		near := memo.prefixOf(sc, d)
		p := memo.pair(near, sc, d)
		var mb time.Time
		if p != nil && !p.stats.LastMiddlebox.IsZero() && p.stats.Intercepted(now) {
			mb = p.stats.LastMiddlebox.Add(MiddleboxHold)
		}
		if p != nil && hasRTT(p.stats) {
			out[i] = Estimate{SRTT: p.stats.SRTT, RTTVar: p.stats.RTTVar, Basis: PairEstimate, MiddleboxUntil: mb}
			continue
		}
		if b := memo.nearby(near, d); b != nil && hasRTT(b.stats) {
			out[i] = Estimate{SRTT: b.stats.SRTT, RTTVar: b.stats.RTTVar, Basis: NearbyEstimate, MiddleboxUntil: mb}
			continue
		}
		out[i] = Estimate{MiddleboxUntil: mb}
	}
	return sc.health
}

// hasRTT reports whether st holds an RTT sample.
func hasRTT(st PairStats) bool { return st.Samples > 0 && st.SRTT > 0 }

// nearbyMemo remembers, for one Estimates call, a few prefixes' pairs (by
// NearbyPrefix of their destination) and the two best of them with an RTT
// sample (by Nearby's order), found when first needed: Nearby's answer for a
// destination in the prefix is the first, unless it is the pair to that very
// destination, then the second. The destinations of one call are mostly grouped by prefix (a name's
// answers), so the search starts at the prefix last asked.
type nearbyMemo struct {
	n, last int
	prefix  [16]nearKey
	pairs   [16][]*pair
	top     [16][2]*pair
	topped  [16]bool // top[i] is found
}

// scanMax is the most pairs in a prefix that nearbyMemo.pair looks through
// rather than look the destination up in the source's map: a few comparisons
// cost less than hashing an address.
const scanMax = 8

// prefixOf returns where dst's prefix is in the memo, putting it there (in
// place of the last one asked, when the memo is full) with sc's pairs in it.
func (m *nearbyMemo) prefixOf(sc *source, dst netip.Addr) int {
	np := nearKeyOf(dst)
	if m.n > 0 && m.prefix[m.last] == np {
		return m.last
	}
	for i := range m.n {
		if m.prefix[i] == np {
			m.last = i
			return i
		}
	}
	i := m.last
	if m.n < len(m.prefix) {
		i = m.n
		m.n++
	}
	m.prefix[i], m.pairs[i], m.topped[i], m.last = np, sc.near.get(np), false, i
	return i
}

// pair returns sc's pair to dst, whose prefix is at i in the memo, or nil.
func (m *nearbyMemo) pair(i int, sc *source, dst netip.Addr) *pair {
	ps := m.pairs[i]
	if len(ps) > scanMax {
		return sc.pairs[dst]
	}
	for _, p := range ps {
		if p.dst == dst {
			return p
		}
	}
	return nil
}

// nearby returns the pair Nearby would answer with for dst, whose prefix is at
// i in the memo, or nil.
func (m *nearbyMemo) nearby(i int, dst netip.Addr) *pair {
	top := &m.top[i]
	if !m.topped[i] {
		*top, m.topped[i] = bestTwo(m.pairs[i]), true
	}
	if top[0] != nil && top[0].dst == dst {
		return top[1]
	}
	return top[0]
}

// bestTwo returns the best and the second best pair of ps with an RTT sample,
// by Nearby's order (see better); nil where there is none.
func bestTwo(ps []*pair) (top [2]*pair) {
	for _, p := range ps {
		switch {
		case p.stats.Samples == 0:
		case top[0] == nil || better(p, top[0]):
			top[0], top[1] = p, top[0]
		case top[1] == nil || better(p, top[1]):
			top[1] = p
		}
	}
	return top
}
