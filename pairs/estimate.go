package pairs

import (
	"math"
	"time"

	"github.com/getapr/getapr/probe"
)

// estimate is what is known of one candidate's latency and source.
type estimate struct {
	latency, rttvar time.Duration
	basis           Basis
	health          probe.Health
	// kernel is set when the candidate's source is the kernel's own choice for its
	// destination and its latency is a default (see preferKernelChoice).
	kernel bool
	// middlebox is the pair's middlebox verdict (probe.PairStats.Intercepted).
	middlebox bool
	// kind is, for an Assumed latency, the kind of default it is.
	kind defaultKind
}

// estimate fills in every candidate's estimate: the measured RTT of the pair, else
// that of a nearby destination from the same source, else the default; and the
// health of its source. It asks the knowledge once per source that has candidates,
// for all of that source's pairs at once (knowledge.Estimates). It keeps the span
// of the latencies in latLo and latHi.
func (r *ranking) estimate() {
	in := r.in
	r.latLo, r.latHi = math.MaxInt64, math.MinInt64
	fs := &r.ws.from
	fs.resize(r.groupBySource())
	for si := range in.srcs {
		group := r.bySrc[r.srcStart[si]:r.srcStart[si+1]]
		if len(group) == 0 {
			continue
		}
		dsts := fs.dsts[:len(group)]
		for j, ci := range group {
			dsts[j] = in.dsts[in.cands[ci].dst].attr.ip
		}
		h := in.k.Estimates(in.srcs[si].addr.IP, dsts, in.now, fs.out)
		for j, ci := range group {
			e := &r.cands[ci].est
			r.estimateInto(e, in.cands[ci], &fs.out[j])
			e.health = h
			r.latLo, r.latHi = min(r.latLo, e.latency), max(r.latHi, e.latency)
		}
	}
	r.preferKernelChoice()
}

// groupBySource fills bySrc and srcStart: the candidates grouped by source, in
// candidate order inside a group. It returns the size of the largest group.
func (r *ranking) groupBySource() int {
	// Count each source's candidates into srcStart[s+1], then sum the counts:
	// srcStart[s] is where source s's group starts.
	for _, c := range r.in.cands {
		r.srcStart[c.src+1]++
	}
	largest := 0
	for si := range r.in.srcs {
		largest = max(largest, int(r.srcStart[si+1]))
		r.srcStart[si+1] += r.srcStart[si]
	}
	// Fill each group with srcStart[s] as its cursor, which leaves srcStart[s] at
	// the group's end, the next group's start: shift them back by one.
	next := r.srcStart[:len(r.in.srcs)]
	for i, c := range r.in.cands {
		r.bySrc[next[c.src]] = int32(i)
		next[c.src]++
	}
	copy(r.srcStart[1:], next)
	r.srcStart[0] = 0
	return largest
}

// estimateInto sets *e to what the knowledge says of candidate c's latency, x.
// (It writes through e rather than returning an estimate: that copy showed in
// profiles.)
func (r *ranking) estimateInto(e *estimate, c cand, x *probe.Estimate) {
	if e.middlebox = !x.MiddleboxUntil.IsZero(); e.middlebox {
		if u := &r.in.until; u.IsZero() || x.MiddleboxUntil.Before(*u) {
			*u = x.MiddleboxUntil
		}
	}
	switch {
	case x.Basis == probe.PairEstimate:
		e.latency, e.rttvar, e.basis = x.SRTT, x.RTTVar, Measured
	case x.Basis == probe.NearbyEstimate && !r.in.dsts[c.dst].synth.IsValid():
		// Not for an address synthesized under a NAT64 prefix: what
		// probe.NearbyPrefix sees of it is the prefix, shared by every IPv4
		// address it stands for. A translated pair counts its own samples.
		e.latency, e.rttvar, e.basis = x.SRTT, x.RTTVar, Inherited
	default:
		e.kind = r.in.dsts[c.dst].defaultFor(&r.in.srcs[c.src])
		e.latency, e.rttvar, e.basis = defaultLatencies[e.kind].latency, 0, Assumed
	}
}

// preferKernelChoice makes the kernel's own choice of source first among each
// destination's candidates whose latency is a default: it gets the best default of
// them (so that it ties with the best) and is marked to win the tie. With nothing
// measured, the first attempt then goes where the kernel's own connect would, and a
// cold start is not slower than the kernel's choice when that works. Measured and
// inherited latencies are left as they are.
func (r *ranking) preferKernelChoice() {
	in := r.in
	for d := range in.dsts {
		kc, best := int32(-1), time.Duration(math.MaxInt64)
		for _, ci := range r.group(d) {
			if e := &r.cands[ci].est; e.basis == Assumed {
				best = min(best, e.latency)
				if in.cands[ci].kernel {
					kc = ci
				}
			}
		}
		if kc >= 0 {
			e := &r.cands[kc].est
			e.latency, e.kernel = best, true
		}
	}
}
