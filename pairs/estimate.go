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
	// middlebox is the pair's middlebox verdict (probe.PairStats.Intercepted).
	middlebox bool
}

// measured reports whether st holds an RTT sample.
func measured(st probe.PairStats) bool { return st.Samples > 0 && st.SRTT > 0 }

// estimate fills in every candidate's estimate: the measured RTT of the pair, else
// that of a nearby destination from the same source, else the default; and the
// health of its source. It asks the knowledge once per source that has candidates,
// for all of that source's pairs at once.
func (r *ranking) estimate() {
	in := r.in
	nc := r.nearbyCache()
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
		h := in.k.From(in.srcs[si].addr.IP, dsts, fs.stats, fs.found)
		for j, ci := range group {
			e := &r.cands[ci].est
			r.estimateInto(e, in.cands[ci], &fs.stats[j], fs.found[j], &nc)
			e.health = h
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

// estimateInto sets *e to what the knowledge says of candidate c's latency, given
// st and known, what it says of the pair itself. (It writes through e rather than
// returning an estimate: that copy showed in profiles.)
func (r *ranking) estimateInto(e *estimate, c cand, st *probe.PairStats, known bool, nc *nearbyCache) {
	in := r.in
	s, d := &in.srcs[c.src], &in.dsts[c.dst]
	e.middlebox = known && st.Intercepted(in.now)
	if known && measured(*st) {
		e.latency, e.rttvar, e.basis = st.SRTT, st.RTTVar, Measured
		return
	}
	src, dst := s.addr.IP, d.attr.ip
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
	e.latency, _ = d.defaultLatency(s.class)
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
// for them, in the workspace.
func (r *ranking) nearbyCache() nearbyCache {
	groups := int32(0)
	for d := range r.dsts {
		w := &r.dsts[d]
		w.near, w.group, w.lead = probe.NearbyPrefix(r.in.dsts[d].attr.ip), -1, int32(d)
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
	r.ws.nearby = resized(r.ws.nearby, len(r.in.srcs)*int(groups))
	return nearbyCache{groups: int(groups), answers: r.ws.nearby}
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
