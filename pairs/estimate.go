package pairs

import (
	"math"
	"net/netip"
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
}

// measured reports whether st holds an RTT sample.
func measured(st probe.PairStats) bool { return st.Samples > 0 && st.SRTT > 0 }

// estimate fills in every candidate's estimate: the measured RTT of the pair, else
// that of a nearby destination from the same source, else the default; and the
// health of its source, asked once per source that has candidates.
func (r *ranking) estimate() {
	in := r.in
	type known struct {
		health probe.Health
		asked  bool
	}
	health := make([]known, len(in.srcs))
	nc := r.nearbyCache()
	for i, c := range in.cands {
		e := &r.cands[i].est
		r.estimateInto(e, c, &nc)
		if h := &health[c.src]; !h.asked {
			*h = known{health: in.k.Health(in.srcs[c.src].addr.IP), asked: true}
		}
		e.health = health[c.src].health
	}
	r.preferKernelChoice()
}

// estimateInto sets *e to what the knowledge says of candidate c's latency. (It
// writes through e rather than returning an estimate: that copy showed in
// profiles.)
func (r *ranking) estimateInto(e *estimate, c cand, nc *nearbyCache) {
	in := r.in
	s, d := &in.srcs[c.src], &in.dsts[c.dst]
	src, dst := s.addr.IP, d.attr.ip
	st, known := in.k.Pair(src, dst)
	if known && measured(st) {
		e.latency, e.rttvar, e.basis = st.SRTT, st.RTTVar, Measured
		return
	}
	var n *nearbyAnswer
	if known {
		st, ok := in.k.Nearby(src, dst)
		n = &nearbyAnswer{ok: ok && measured(st), srtt: st.SRTT, rttvar: st.RTTVar}
	} else {
		n = nc.nearby(in.k, c.src, r.dsts[c.dst].group, src, dst)
	}
	if n.ok {
		e.latency, e.rttvar, e.basis = n.srtt, n.rttvar, Inherited
		return
	}
	e.latency, _ = defaultLatency(s.class, d.class)
	e.rttvar, e.basis = 0, Assumed
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

// nearbyCache remembers what Nearby answered per source and group of destinations
// sharing a nearby prefix, for destinations Pair knows nothing of: for those the
// answer depends on the prefix only.
type nearbyCache struct {
	groups  int
	answers []nearbyAnswer // per source × group
}

// nearbyAnswer is one answer of Nearby: ok when it found a measured pair.
type nearbyAnswer struct {
	asked, ok    bool
	srtt, rttvar time.Duration
}

// nearbyCache fills the destinations' near, group and lead, and returns an empty cache
// for them.
func (r *ranking) nearbyCache() nearbyCache {
	groups := int32(0)
	for d := range r.dsts {
		w := &r.dsts[d]
		w.near, w.group, w.lead = nearbyPrefix(r.in.dsts[d].attr.ip), -1, int32(d)
		for e := range d {
			if r.dsts[e].near == w.near {
				w.group, w.lead = r.dsts[e].group, int32(e)
				break
			}
		}
		if w.group < 0 {
			w.group, groups = groups, groups+1
		}
	}
	return nearbyCache{groups: int(groups), answers: make([]nearbyAnswer, len(r.in.srcs)*int(groups))}
}

// nearby returns k's Nearby(src, dst) for a destination dst in group g that Pair
// knows nothing of, from source si, asking k once per source and group.
func (nc *nearbyCache) nearby(k knowledge, si, g int32, src, dst netip.Addr) *nearbyAnswer {
	a := &nc.answers[int(si)*nc.groups+int(g)]
	if !a.asked {
		st, ok := k.Nearby(src, dst)
		*a = nearbyAnswer{asked: true, ok: ok && measured(st), srtt: st.SRTT, rttvar: st.RTTVar}
	}
	return a
}
