package pairs

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// knowledge is what the ranking asks of what has been learned. *probe.Store
// implements it.
type knowledge interface {
	// Pair returns the statistics of the pair src→dst.
	Pair(src, dst netip.Addr) (probe.PairStats, bool)
	// Nearby returns the statistics of a measured pair from src to a destination
	// sharing dst's first 32 (IPv6) or 20 (IPv4) bits.
	Nearby(src, dst netip.Addr) (probe.PairStats, bool)
	// Health returns what is known of the source src.
	Health(src netip.Addr) probe.Health
	// Translators says whether NPTv6 and NAT44 have been seen or tried.
	Translators() probe.Translators
}

// source is a candidate source address with what ranking needs of it.
type source struct {
	addr  netstate.Addr
	class netstate.Class
	attr  srcAttr
}

// newSource returns the source for a, its RFC 6724 attributes taken from t.
func newSource(a netstate.Addr, t PolicyTable) source {
	return source{
		addr:  a,
		class: a.Class(),
		attr: srcAttr{
			attr:       attrOf(a.IP, t),
			bits:       a.Bits,
			deprecated: a.Has(netstate.Deprecated),
			temporary:  a.Has(netstate.Temporary),
		},
	}
}

// dest is one destination address (IPv6 link-local ones with their zone).
type dest struct {
	attr  attr
	class netstate.Class
}

// cand is a candidate pair: indexes into the sources and the destinations, and
// whether the kernel's route leaves by another interface than the source's.
type cand struct {
	src, dst int32
	mismatch bool
}

// rankInput is everything one ranking depends on.
type rankInput struct {
	srcs    []source
	dsts    []dest
	cands   []cand
	k       knowledge
	bias    time.Duration // subtracted from IPv6 latencies
	srcPort uint16        // kept in Pair.Src (LocalAddr's port)
	dstPort uint16
}

// ranked is a candidate with its sort key.
type ranked struct {
	tier     uint8         // 0 usable, 1 deprecated source, 2 dead source
	key      time.Duration // latency minus the IPv6 bias
	dstRank  int32
	srcRank  int32
	i        int32 // index into rankInput.cands
	latency  time.Duration
	rttvar   time.Duration
	basis    Basis
	health   probe.Health
	estimate string // how latency was found
}

// rank orders the candidates of in, best first. It is a pure function of in.
func rank(in *rankInput) []Pair {
	if len(in.cands) == 0 {
		return nil
	}
	rs := make([]ranked, len(in.cands))
	bestSrc := in.rankSources(rs)
	in.rankDestinations(rs, bestSrc)
	for i := range rs {
		in.estimate(&rs[i])
	}
	slices.SortFunc(rs, compareRanked)
	return in.pairs(rs, bestSrc)
}

func compareRanked(a, b ranked) int {
	if c := cmp.Compare(a.tier, b.tier); c != 0 {
		return c
	}
	if c := cmp.Compare(a.key, b.key); c != 0 {
		return c
	}
	if c := cmp.Compare(a.dstRank, b.dstRank); c != 0 {
		return c
	}
	return cmp.Compare(a.srcRank, b.srcRank)
}

// rankSources sets i and srcRank of every entry of rs: the rank of the candidate's
// source among those of its destination by the RFC 6724 source rules. It returns,
// per destination, the candidate index of its best source (-1 for a destination
// without candidates).
func (in *rankInput) rankSources(rs []ranked) []int32 {
	order := make([]int32, len(in.cands))
	for i := range order {
		order[i] = int32(i)
	}
	// Group by destination, keeping snapshot order inside a group, then sort
	// each group by the source rules.
	slices.SortStableFunc(order, func(a, b int32) int {
		return cmp.Compare(in.cands[a].dst, in.cands[b].dst)
	})
	best := make([]int32, len(in.dsts))
	for i := range best {
		best[i] = -1
	}
	for lo := 0; lo < len(order); {
		d := in.cands[order[lo]].dst
		hi := lo + 1
		for hi < len(order) && in.cands[order[hi]].dst == d {
			hi++
		}
		group := order[lo:hi]
		slices.SortStableFunc(group, func(a, b int32) int {
			c, _ := in.compareSources(a, b)
			return c
		})
		best[d] = group[0]
		for r, ci := range group {
			rs[ci].i, rs[ci].srcRank = ci, int32(r)
		}
		lo = hi
	}
	return best
}

// compareSources compares the sources of two candidates for the same destination.
func (in *rankInput) compareSources(a, b int32) (int, rule) {
	ca, cb := in.cands[a], in.cands[b]
	return compareSources(in.dsts[ca.dst].attr, in.srcs[ca.src].attr, in.srcs[cb.src].attr,
		!ca.mismatch, !cb.mismatch)
}

// compareDestinations compares two destinations, each with its best source.
func (in *rankInput) compareDestinations(da, db int32, bestSrc []int32) (int, rule) {
	sa, sb := in.cands[bestSrc[da]].src, in.cands[bestSrc[db]].src
	return compareDestinations(in.dsts[da].attr, in.dsts[db].attr, in.srcs[sa].attr, in.srcs[sb].attr)
}

// rankDestinations sets dstRank of every entry of rs: the rank of its destination
// by the RFC 6724 destination rules, each destination judged with its best source.
func (in *rankInput) rankDestinations(rs []ranked, bestSrc []int32) {
	order := make([]int32, 0, len(in.dsts))
	for d, b := range bestSrc {
		if b >= 0 {
			order = append(order, int32(d))
		}
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		c, _ := in.compareDestinations(a, b, bestSrc)
		return c
	})
	rankOf := make([]int32, len(in.dsts))
	for r, d := range order {
		rankOf[d] = int32(r)
	}
	for i := range rs {
		rs[i].dstRank = rankOf[in.cands[rs[i].i].dst]
	}
}

// estimate fills in the latency estimate, the health and the sort key of r.
func (in *rankInput) estimate(r *ranked) {
	c := in.cands[r.i]
	s, d := &in.srcs[c.src], &in.dsts[c.dst]
	src, dst := s.addr.IP, d.attr.ip
	r.health = in.k.Health(src)
	if st, ok := in.k.Pair(src, dst); ok && st.Samples > 0 && st.SRTT > 0 {
		r.latency, r.rttvar, r.basis = st.SRTT, st.RTTVar, Measured
		r.estimate = "measured " + fmtLatency(st.SRTT)
	} else if st, ok := in.k.Nearby(src, dst); ok && st.Samples > 0 && st.SRTT > 0 {
		r.latency, r.rttvar, r.basis = st.SRTT, st.RTTVar, Inherited
		r.estimate = "inherited " + nearbyPrefix(dst).String() + " " + fmtLatency(st.SRTT)
	} else {
		r.latency, r.estimate = defaultLatency(s.class, d.class)
		r.basis = Assumed
	}
	r.key = r.latency
	if dst.Is6() {
		r.key -= in.bias
	}
	switch {
	case r.health == probe.Dead:
		r.tier = 2
	case s.attr.deprecated:
		r.tier = 1
	}
}

// nearbyPrefix returns the prefix within which destinations inherit each other's
// latency: the first 32 bits of IPv6, 20 of IPv4.
func nearbyPrefix(dst netip.Addr) netip.Prefix {
	bits := 20
	if dst.Is6() {
		bits = 32
	}
	p, _ := dst.WithZone("").Prefix(bits)
	return p
}

// fmtLatency formats d for a Reason: whole milliseconds from 10 ms up, else to
// the tenth of a millisecond.
func fmtLatency(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	if d >= 10*time.Millisecond {
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
}

// pairs builds the result from the sorted rs.
func (in *rankInput) pairs(rs []ranked, bestSrc []int32) []Pair {
	out := make([]Pair, len(rs))
	for i := range rs {
		r := &rs[i]
		c := in.cands[r.i]
		s, d := &in.srcs[c.src], &in.dsts[c.dst]
		out[i] = Pair{
			Src:            netip.AddrPortFrom(s.addr.IP, in.srcPort),
			Dst:            netip.AddrPortFrom(d.attr.ip, in.dstPort),
			Interface:      s.addr.Interface,
			SrcClass:       s.class,
			DstClass:       d.class,
			Latency:        r.latency,
			RTTVar:         r.rttvar,
			Basis:          r.basis,
			Health:         r.health,
			Deprecated:     s.attr.deprecated,
			EgressMismatch: c.mismatch,
			Reason:         in.reason(rs, i, bestSrc),
		}
	}
	return out
}

// reason says why rs[i] ranks where it does: its tier, its latency estimate, and
// the RFC 6724 rule that put it after rs[i-1] when their keys tie.
func (in *rankInput) reason(rs []ranked, i int, bestSrc []int32) string {
	r := &rs[i]
	why := r.estimate
	switch r.tier {
	case 2:
		why = "source dead; " + why
	case 1:
		why = "source deprecated; " + why
	}
	if i == 0 {
		return why
	}
	p := &rs[i-1]
	if p.tier != r.tier || p.key != r.key {
		return why
	}
	var ru rule
	if pd, rd := in.cands[p.i].dst, in.cands[r.i].dst; pd == rd {
		_, ru = in.compareSources(p.i, r.i)
	} else {
		_, ru = in.compareDestinations(pd, rd, bestSrc)
	}
	if ru.n == 0 {
		return why
	}
	return why + "; " + ru.String()
}
