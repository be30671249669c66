package pairs

import (
	"cmp"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// knowledge is what the ranking asks of what has been learned. *probe.Store
// implements it.
type knowledge interface {
	// Estimates returns what is known of the source src, and sets out[i] to the
	// RTT estimate of the pair src→dsts[i], its own, else a nearby
	// destination's, and its middlebox verdict at now (see
	// probe.Store.Estimates). out is at least as long as dsts. The ranking asks
	// once per source.
	Estimates(src netip.Addr, dsts []netip.Addr, now time.Time, out []probe.Estimate) probe.Health
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
	synth netip.Addr // for a destination synthesized under a NAT64 prefix: the IPv4 address it stands for
}

// cand is a candidate pair: indexes into the sources and the destinations,
// whether the kernel's route leaves by another interface than the source's,
// whether its source is the one the kernel itself would use for the destination,
// and the common prefix length of the two addresses (RFC 6724 section 2.2).
type cand struct {
	src, dst int32
	mismatch bool
	kernel   bool
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
	srcs    []source // at first the view's, shared (see addSource)
	spare   []source // the array addSource copies srcs to; its cap is kept
	ownSrcs bool     // srcs is spare's array
	dsts    []dest
	cands   []cand
	k       knowledge
	pref64  []netstate.PREF64 // the links' NAT64 prefixes, for synthesizing IPv4 destinations
	only4   bool              // the network takes IPv4 only ("tcp4"): no NAT64, prefix or not
	bias    time.Duration     // subtracted from IPv6 latencies, not from synthesized ones
	srcPort uint16            // kept in Pair.Src (LocalAddr's port)
	keep    bool              // the caller keeps the pairs: rank allocates them, not in the workspace
	dstPort uint16
	now     time.Time // for the knowledge's verdicts that expire (middlebox)
	routes  routeDeps // what the candidates owe to route verdicts
	until   time.Time // when the earliest verdict of the knowledge used expires; zero: none
}

// rank orders the candidates of in, best first, with ws as its scratch. It is a
// pure function of in: ws holds nothing on return that the next call depends on.
// The pairs are in ws's memory (workspace.ranked), lasting until ws ranks again,
// unless in.keep asks for memory of their own: the caller's to keep or hand out.
//
// The order is that of the ranking rules (see rules.compare): by tier (usable,
// suspect, deprecated or dead source), then by latency to the microsecond (IPv6
// biased), then the kernel's own choice of source for a destination before the
// other sources (see preferKernelChoice), then by the RFC 6724 order: the rank of
// the destination, then that of the source. Each candidate gets one integer key
// made of these (keyBits.pack), so that sorting is a plain integer sort.
func rank(in *rankInput, ws *workspace) []Pair {
	if len(in.cands) == 0 {
		return nil
	}
	r := newRanking(in, ws)
	r.rankSources()
	r.rankDestinations()
	r.placeRFC6724()
	r.estimate()
	kb := r.keyBits()
	for place, ci := range r.at { // in RFC 6724 order: see sortKeys
		r.keys[place] = kb.pack(r.rules(ci))
	}
	return r.pairs(sortKeys(r.keys, r.ws.sort, kb.posBits, &r.ws.count), kb)
}

// keyBits returns the layout of the candidates' sort keys, fitted to the span of
// their latencies (estimate found it; biased, each bound may move by the bias).
func (r *ranking) keyBits() keyBits {
	lo, hi, bias := r.latLo, r.latHi, r.in.bias
	return newKeyBits(len(r.in.cands)).fit(min(lo, biased(lo, bias)), max(hi, biased(hi, bias)))
}

// ranking is the working state of one rank call, its slices in a workspace.
type ranking struct {
	in    *rankInput
	ws    *workspace
	cands []candWork // per candidate
	dsts  []dstWork  // per destination
	// order holds the candidates grouped by destination, each group best source
	// first: destination d's group is order[start[d]:start[d+1]].
	order, start []int32
	// bySrc holds the candidates grouped by source: source s's group is
	// bySrc[srcStart[s]:srcStart[s+1]].
	bySrc, srcStart []int32
	byRFC           []int32  // the destinations that have candidates, in RFC 6724 order
	at              []int32  // per place in the RFC 6724 order: the candidate there
	keys            []uint64 // per candidate: scratch, then the sort keys
	// latLo and latHi are the least and the greatest latency estimated (before
	// the IPv6 bias).
	latLo, latHi time.Duration
}

// candWork is what a rank call works out for one candidate.
type candWork struct {
	est    estimate
	srcKey srcKey // its source's RFC 6724 rule values for its destination
	place  uint32 // its place in the RFC 6724 order
}

// dstWork is what a rank call works out for one destination.
type dstWork struct {
	key    dstKey // its RFC 6724 rule values with its best source
	best   int32  // the candidate with its best source, or -1 when it has none
	nearby int32  // its NearbyPrefix's number in the reason cache, once a Reason needs it; zero before
}

// newRanking returns the working state for in, reset in ws: one slice per element
// type. (It returns a value, which rank keeps on its stack.)
func newRanking(in *rankInput, ws *workspace) ranking {
	ws.reset(in)
	r := ranking{in: in, ws: ws, cands: ws.cands, dsts: ws.dsts, keys: ws.keys}
	r.carve(ws.idx)
	return r
}

// addSource adds s to the sources and returns its index. The view's sources are
// shared: the first source added copies them into in's own array.
func (in *rankInput) addSource(s source) int32 {
	if !in.ownSrcs {
		in.srcs, in.ownSrcs = append(in.spare[:0], in.srcs...), true
	}
	in.srcs = append(in.srcs, s)
	in.spare = in.srcs
	return int32(len(in.srcs) - 1)
}

// carve cuts idx into the index slices (three-index slices, so that an append
// cannot run into the next one).
func (r *ranking) carve(idx []int32) {
	n, nd, ns := len(r.in.cands), len(r.in.dsts), len(r.in.srcs)
	r.order, idx = idx[:n:n], idx[n:]
	r.at, idx = idx[:n:n], idx[n:]
	r.bySrc, idx = idx[:n:n], idx[n:]
	r.start, idx = idx[:nd+1:nd+1], idx[nd+1:]
	r.srcStart, idx = idx[:ns+1:ns+1], idx[ns+1:]
	r.byRFC = idx[:0:nd]
}

// group returns destination d's candidates, best source first.
func (r *ranking) group(d int) []int32 { return r.order[r.start[d]:r.start[d+1]] }

// rules is where the ranking rules place one candidate, rule by rule. Candidates
// are ordered by compare, the rules read as a ladder; rank sorts them by the
// integers keyBits.pack makes of their rules, which order them the same way.
type rules struct {
	tier    int           // tierUsable to tierDead
	latency time.Duration // the estimate, IPv6 biased
	kernel  bool          // the kernel's own choice of source (see preferKernelChoice)
	place   uint32        // in the RFC 6724 order
}

// compare orders a and b by the ranking rules: negative when a ranks first.
func (a rules) compare(b rules) int {
	// Rule 1: Prefer a usable source, then a suspect one, then a deprecated
	// one, then a dead one.
	if c := cmp.Compare(a.tier, b.tier); c != 0 {
		return c
	}
	// Rule 2: Prefer the lower latency, to the microsecond.
	if c := cmp.Compare(a.latency/time.Microsecond, b.latency/time.Microsecond); c != 0 {
		return c
	}
	// Rule 3: Prefer the kernel's own choice of source (among latencies that
	// are defaults, it tied with the best).
	if a.kernel != b.kernel {
		return boolCompare(a.kernel)
	}
	// Rule 4: Prefer the RFC 6724 order: by destination, then by source.
	return cmp.Compare(a.place, b.place)
}

// boolCompare is -1 for a preferred true, 1 for false.
func boolCompare(preferred bool) int {
	if preferred {
		return -1
	}
	return 1
}

// keyBits lays out a sort key: 2 bits of tier, then latBits of latency in
// microseconds above lo (the latencies from lo to lo+2^latBits-1 apart, those
// beyond counting as the nearer bound), then one bit that is 0 for a preferred
// kernel's choice, then posBits of RFC 6724 place. A layout fitted to the
// latencies of a ranking (fit) leaves no bit unused between the tier and the
// latency: a radix sort then has the fewest digits to sort by.
type keyBits struct {
	posBits, latBits uint
	lo               int64 // in µs
}

// newKeyBits returns the layout for n candidates, latencies within
// ±2^(60-posBits) µs.
func newKeyBits(n int) keyBits {
	pb := uint(bits.Len(uint(n)))
	return keyBits{posBits: pb, latBits: 61 - pb, lo: -1 << (60 - pb)}
}

// fit returns kb for latencies from lo to hi (beyond 2^(61-posBits) µs above lo,
// they count as that bound).
func (kb keyBits) fit(lo, hi time.Duration) keyBits {
	kb.lo = int64(lo / time.Microsecond)
	span := uint64(int64(hi/time.Microsecond) - kb.lo)
	kb.latBits = min(max(uint(bits.Len64(span)), 1), 61-kb.posBits)
	return kb
}

// pack returns the sort key of ru: sorting by key is sorting by rules.compare,
// for places below 1<<posBits and latencies within the layout's.
func (kb keyBits) pack(ru rules) uint64 {
	us := min(max(int64(ru.latency/time.Microsecond)-kb.lo, 0), int64(1)<<kb.latBits-1)
	k := uint64(ru.tier)<<(kb.posBits+1+kb.latBits) | uint64(us)<<(kb.posBits+1) | uint64(ru.place)
	if !ru.kernel {
		k |= 1 << kb.posBits
	}
	return k
}

// tier returns the tier in key k.
func (kb keyBits) tier(k uint64) int { return int(k >> (kb.posBits + 1 + kb.latBits)) }

// pos returns the RFC 6724 place in key k.
func (kb keyBits) pos(k uint64) uint32 { return uint32(k & (1<<kb.posBits - 1)) }

// ties reports whether keys a and b have the same tier and latency.
func (kb keyBits) ties(a, b uint64) bool { return a>>(kb.posBits+1) == b>>(kb.posBits+1) }

// rules returns candidate ci's rules.
func (r *ranking) rules(ci int32) rules {
	in, e := r.in, &r.cands[ci].est
	c := in.cands[ci]
	lat := e.latency
	if d := &in.dsts[c.dst]; d.attr.ip.Is6() && !d.synth.IsValid() {
		// A synthesized destination is IPv4 behind a translator: no IPv6 bias.
		lat = biased(lat, in.bias)
	}
	return rules{tier: tierOf(e.health, in.srcs[c.src].attr.deprecated), latency: lat, kernel: e.kernel, place: r.cands[ci].place}
}

// biased returns lat - bias, saturated at the limits of time.Duration: an extreme
// latency (a corrupt measurement) with a negative bias must not wrap around and
// rank first.
func biased(lat, bias time.Duration) time.Duration {
	d := lat - bias
	switch {
	case bias < 0 && d < lat:
		return math.MaxInt64
	case bias > 0 && d > lat:
		return math.MinInt64
	}
	return d
}

// rankSources orders the candidates of each destination by the RFC 6724 source
// rules, filling order, start, the candidates' srcKey and the destinations' best.
func (r *ranking) rankSources() {
	in := r.in
	// Bucket the candidates by destination, keeping their order (sources in
	// snapshot order) inside a bucket. A destination's best is its bucket's fill
	// cursor until it gets its meaning.
	for _, c := range in.cands {
		r.start[c.dst+1]++
	}
	for d := range in.dsts {
		r.start[d+1] += r.start[d]
		r.dsts[d].best = r.start[d]
	}
	for i, c := range in.cands {
		r.order[r.dsts[c.dst].best] = int32(i)
		r.dsts[c.dst].best++
	}
	for d := range in.dsts {
		group := r.group(d)
		r.dsts[d].best = -1
		if len(group) == 0 {
			continue
		}
		// Sort by the packed rule values; the candidate index below them keeps
		// equal sources in snapshot order.
		for i, k := range sortSources(r.sourceKeys(d, r.keys[:0]), r.ws.sort, &r.ws.count) {
			group[i] = int32(k & (1<<srcKeyShift - 1))
		}
		r.dsts[d].best = group[0]
	}
}

// sourceKeys appends to keys, for each candidate of destination d in its
// group's order, its source's rule values for d (which it also keeps in the
// candidate's srcKey) with the candidate below them, and returns keys.
func (r *ranking) sourceKeys(d int, keys []uint64) []uint64 {
	in := r.in
	for _, ci := range r.group(d) {
		k := sourceKey(&in.dsts[d].attr, in.choice(ci))
		r.cands[ci].srcKey = k
		keys = append(keys, uint64(k)|uint64(ci))
	}
	return keys
}

// rankDestinations puts the destinations that have candidates in the order of the
// RFC 6724 destination rules, each judged with its best source, into byRFC, and
// fills their key.
func (r *ranking) rankDestinations() {
	in := r.in
	for d := range in.dsts {
		if b := r.dsts[d].best; b >= 0 {
			r.dsts[d].key = destinationKey(&in.dsts[d].attr, in.choice(b))
			r.byRFC = append(r.byRFC, int32(d))
		}
	}
	slices.SortStableFunc(r.byRFC, func(a, b int32) int {
		c, _ := r.dsts[a].key.compare(r.dsts[b].key)
		return c
	})
}

// placeRFC6724 gives every candidate its place in the RFC 6724 order: by
// destination, then by source.
func (r *ranking) placeRFC6724() {
	p := uint32(0)
	for _, d := range r.byRFC {
		for _, ci := range r.group(int(d)) {
			r.cands[ci].place, r.at[p] = p, ci
			p++
		}
	}
}

// ruleBetween returns the RFC 6724 rule that ranks candidate b after candidate a
// when their latencies tie: a source rule for the same destination, else a
// destination rule.
func (r *ranking) ruleBetween(a, b int32) rule {
	da, db := r.in.cands[a].dst, r.in.cands[b].dst
	var ru rule
	if da == db {
		_, ru = r.cands[a].srcKey.compare(r.cands[b].srcKey)
	} else {
		_, ru = r.dsts[da].key.compare(r.dsts[db].key)
	}
	return ru
}
