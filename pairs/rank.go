package pairs

import (
	"math/bits"
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

// cand is a candidate pair: indexes into the sources and the destinations,
// whether the kernel's route leaves by another interface than the source's, and the
// common prefix length of the two addresses (RFC 6724 section 2.2).
type cand struct {
	src, dst int32
	mismatch bool
	cpl      uint8
}

// addCand adds the candidate pair of sources[si] and dsts[di].
func (in *rankInput) addCand(si, di int32, mismatch bool) {
	s := &in.srcs[si].attr
	cpl := commonPrefixLen(s.ip, in.dsts[di].attr.ip, s.bits)
	in.cands = append(in.cands, cand{src: si, dst: di, mismatch: mismatch, cpl: uint8(cpl)})
}

// choice returns candidate i's source as a choice for its destination.
func (in *rankInput) choice(i int32) choice {
	c := in.cands[i]
	return choice{srcAttr: &in.srcs[c.src].attr, out: !c.mismatch, cpl: int(c.cpl)}
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

// estimate is what is known of one candidate's latency and source.
type estimate struct {
	latency, rttvar time.Duration
	basis           Basis
	health          probe.Health
}

// rank orders the candidates of in, best first. It is a pure function of in.
//
// The order is by tier (usable, suspect, deprecated or dead source), then by
// latency to the microsecond (IPv6 biased), then by the RFC 6724 order: the rank of
// the destination, then that of the source. Each candidate gets one integer key
// made of these fields, so that sorting is a plain integer sort.
func rank(in *rankInput) []Pair {
	if len(in.cands) == 0 {
		return nil
	}
	r := &ranking{in: in}
	r.rankSources()
	dstOrder := r.rankDestinations()
	keys := make([]uint64, len(in.cands))
	est := make([]estimate, len(in.cands))
	health := make([]probe.Health, len(in.srcs))
	for i := range health {
		health[i] = in.k.Health(in.srcs[i].addr.IP)
	}
	// rfc[i] is candidate i's place in the RFC 6724 order; at[p] the candidate
	// in place p.
	rfc, at := make([]uint32, len(in.cands)), make([]int32, len(in.cands))
	p := uint32(0)
	for _, d := range dstOrder {
		for _, ci := range r.byDst[d] {
			rfc[ci], at[p] = p, ci
			p++
		}
	}
	kb := newKeyBits(len(in.cands))
	for i, c := range in.cands {
		e := in.estimate(c)
		e.health = health[c.src]
		lat := e.latency
		if in.dsts[c.dst].attr.ip.Is6() {
			lat -= in.bias
		}
		tier := uint64(tierOf(e.health, in.srcs[c.src].attr.deprecated))
		est[i], keys[i] = e, kb.key(tier, lat, rfc[i])
	}
	slices.Sort(keys)
	return r.pairs(keys, kb, at, est)
}

// ranking is the working state of one rank call.
type ranking struct {
	in      *rankInput
	srcKeys []srcKey  // per candidate: its source's RFC 6724 rule values
	best    []int32   // per destination: the candidate with its best source, or -1
	byDst   [][]int32 // per destination: its candidates, best source first
	dstKeys []dstKey  // per destination: its RFC 6724 rule values with its best source
}

// keyBits lays out a sort key: 2 bits of tier, then the latency in microseconds
// (offset to be non-negative, clamped), then posBits of RFC 6724 place.
type keyBits struct{ posBits, latBits uint }

func newKeyBits(n int) keyBits {
	pb := uint(bits.Len(uint(n)))
	return keyBits{posBits: pb, latBits: 62 - pb}
}

func (kb keyBits) key(tier uint64, lat time.Duration, pos uint32) uint64 {
	half := int64(1) << (kb.latBits - 1)
	us := min(max(int64(lat/time.Microsecond)+half, 0), 2*half-1)
	return tier<<62 | uint64(us)<<kb.posBits | uint64(pos)
}

// pos returns the RFC 6724 place in key k.
func (kb keyBits) pos(k uint64) uint32 { return uint32(k & (1<<kb.posBits - 1)) }

// ties reports whether keys a and b have the same tier and latency.
func (kb keyBits) ties(a, b uint64) bool { return a>>kb.posBits == b>>kb.posBits }

// rankSources orders the candidates of each destination by the RFC 6724 source
// rules, filling srcKeys, byDst and best.
func (r *ranking) rankSources() {
	in := r.in
	// Bucket the candidates by destination, keeping their order (sources in
	// snapshot order) inside a bucket.
	start := make([]int32, len(in.dsts)+1)
	for _, c := range in.cands {
		start[c.dst+1]++
	}
	for d := range in.dsts {
		start[d+1] += start[d]
	}
	order := make([]int32, len(in.cands))
	fill := slices.Clone(start[:len(in.dsts)])
	for i, c := range in.cands {
		order[fill[c.dst]] = int32(i)
		fill[c.dst]++
	}
	r.srcKeys = make([]srcKey, len(in.cands))
	r.best = fill // reuse: one entry per destination
	r.byDst = make([][]int32, len(in.dsts))
	keys := make([]uint64, 0, len(in.cands))
	for d := range in.dsts {
		group := order[start[d]:start[d+1]]
		r.byDst[d], r.best[d] = group, -1
		if len(group) == 0 {
			continue
		}
		// Sort by the packed rule values; the candidate index below them keeps
		// equal sources in snapshot order.
		keys = keys[:0]
		for _, ci := range group {
			k := sourceKey(&in.dsts[d].attr, in.choice(ci))
			r.srcKeys[ci] = k
			keys = append(keys, k.pack()|uint64(ci))
		}
		slices.Sort(keys)
		for i, k := range keys {
			group[i] = int32(k & (1<<srcKeyShift - 1))
		}
		r.best[d] = group[0]
	}
}

// rankDestinations returns the destinations that have candidates in the order of
// the RFC 6724 destination rules, each judged with its best source, and fills
// dstKeys.
func (r *ranking) rankDestinations() []int32 {
	in := r.in
	r.dstKeys = make([]dstKey, len(in.dsts))
	order := make([]int32, 0, len(in.dsts))
	for d, b := range r.best {
		if b >= 0 {
			r.dstKeys[d] = destinationKey(&in.dsts[d].attr, in.choice(b))
			order = append(order, int32(d))
		}
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		c, _ := r.dstKeys[a].compare(r.dstKeys[b])
		return c
	})
	return order
}

// ruleBetween returns the RFC 6724 rule that ranks candidate b after candidate a
// when their latencies tie: a source rule for the same destination, else a
// destination rule.
func (r *ranking) ruleBetween(a, b int32) rule {
	da, db := r.in.cands[a].dst, r.in.cands[b].dst
	var ru rule
	if da == db {
		_, ru = r.srcKeys[a].compare(r.srcKeys[b])
	} else {
		_, ru = r.dstKeys[da].compare(r.dstKeys[db])
	}
	return ru
}

// estimate returns what is known of candidate c's latency: the measured RTT of the
// pair, else that of a nearby destination from the same source, else the default.
func (in *rankInput) estimate(c cand) estimate {
	s, d := &in.srcs[c.src], &in.dsts[c.dst]
	src, dst := s.addr.IP, d.attr.ip
	var e estimate
	if st, ok := in.k.Pair(src, dst); ok && st.Samples > 0 && st.SRTT > 0 {
		e.latency, e.rttvar, e.basis = st.SRTT, st.RTTVar, Measured
	} else if st, ok := in.k.Nearby(src, dst); ok && st.Samples > 0 && st.SRTT > 0 {
		e.latency, e.rttvar, e.basis = st.SRTT, st.RTTVar, Inherited
	} else {
		e.latency, _ = defaultLatency(s.class, d.class)
		e.basis = Assumed
	}
	return e
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

// appendLatency appends d for a Reason, rounded: whole milliseconds from 10 ms up,
// else to the tenth of a millisecond.
func appendLatency(b []byte, d time.Duration) []byte {
	if d >= 10*time.Millisecond {
		b = strconv.AppendInt(b, int64((d+time.Millisecond/2)/time.Millisecond), 10)
	} else {
		tenths := int64((d + 50*time.Microsecond) / (100 * time.Microsecond))
		b = strconv.AppendInt(b, tenths/10, 10)
		b = append(b, '.', byte('0'+tenths%10))
	}
	return append(b, "ms"...)
}

// pairs builds the result in the order of keys. The reasons are written into one
// buffer and sliced out of one string.
func (r *ranking) pairs(keys []uint64, kb keyBits, at []int32, est []estimate) []Pair {
	in := r.in
	out := make([]Pair, len(keys))
	ends := make([]int, len(keys))
	buf := make([]byte, 0, 48*len(keys))
	prefixText := make([][2]int, len(in.dsts)) // a destination's nearby prefix in buf
	for i, k := range keys {
		ci := at[kb.pos(k)]
		c, e := in.cands[ci], &est[ci]
		s, d := &in.srcs[c.src], &in.dsts[c.dst]
		out[i] = Pair{
			Src:            netip.AddrPortFrom(s.addr.IP, in.srcPort),
			Dst:            netip.AddrPortFrom(d.attr.ip, in.dstPort),
			Interface:      s.addr.Interface,
			SrcClass:       s.class,
			DstClass:       d.class,
			Latency:        e.latency,
			RTTVar:         e.rttvar,
			Basis:          e.basis,
			Health:         e.health,
			Deprecated:     s.attr.deprecated,
			EgressMismatch: c.mismatch,
		}
		tie := int32(-1) // the previous candidate, if this one ties with it
		if i > 0 && kb.ties(keys[i-1], k) {
			tie = at[kb.pos(keys[i-1])]
		}
		buf = r.appendReason(buf, ci, tie, e, prefixText)
		ends[i] = len(buf)
	}
	all, from := string(buf), 0
	for i := range out {
		out[i].Reason, from = all[from:ends[i]], ends[i]
	}
	return out
}

// appendReason appends why candidate ci ranks where it does: its tier, its
// latency estimate, and the RFC 6724 rule that put it after candidate prev when
// they tie (prev < 0: no tie).
// The text of a destination's nearby prefix is written once; prefixText remembers
// where.
func (r *ranking) appendReason(b []byte, ci, prev int32, e *estimate, prefixText [][2]int) []byte {
	in := r.in
	c := in.cands[ci]
	switch tierOf(e.health, in.srcs[c.src].attr.deprecated) {
	case tierDead:
		b = append(b, "source dead; "...)
	case tierDeprecated:
		b = append(b, "source deprecated; "...)
	case tierSuspect:
		b = append(b, "source suspect; "...)
	}
	switch e.basis {
	case Measured:
		b = appendLatency(append(b, "measured "...), e.latency)
	case Inherited:
		b = append(b, "inherited "...)
		if pt := prefixText[c.dst]; pt[1] > 0 {
			b = append(b, b[pt[0]:pt[1]]...)
		} else {
			start := len(b)
			b, _ = nearbyPrefix(in.dsts[c.dst].attr.ip).AppendText(b)
			prefixText[c.dst] = [2]int{start, len(b)}
		}
		b = appendLatency(append(b, ' '), e.latency)
	default:
		_, words := defaultLatency(in.srcs[c.src].class, in.dsts[c.dst].class)
		b = append(b, words...)
	}
	if prev < 0 {
		return b
	}
	ru := r.ruleBetween(prev, ci)
	if ru.n == 0 {
		return b
	}
	return ru.appendTo(append(b, "; "...))
}
