package pairs

import (
	"net/netip"

	"github.com/getapr/getapr/probe"
)

// Order returns ranked (best first, as Selector.Get returns it) in the order to race
// the pairs in, following RFC 8305 section 4: the best pair first; then the first
// firstFamilyCount pairs (at least 1) of the best pair's address family, after which
// the families alternate, one pair each, until one runs out. Tiers (usable,
// suspect, deprecated or dead source) come before families: when the next pair of
// the family whose turn it is is in a worse tier than the other family's next,
// the other family goes.
//
// Within the family whose turn it is, the next pair is the best one left, except
// that among the pairs left in its tier (usable, suspect, deprecated or dead
// source) Order prefers, in this order: the best one whose Interface differs from
// the previous attempt's (of either family), then the best one whose source differs
// from the family's previous attempt's. Sources on one interface share the fate of
// its uplink, and a source that does not work fails every pair it is in: a dead
// uplink or source then costs one attempt, not several in a row, while a dead
// source never moves ahead of a live one. An empty Interface is unknown and never
// counts as different. A pair through a NAT64 (Synthesized) is of the IPv4
// family here: its destination is an IPv4 address (HEv3 puts synthesized
// addresses in the list as A answers). Order does not modify ranked.
func Order(ranked []Pair, firstFamilyCount int) []Pair {
	if len(ranked) == 0 {
		return nil
	}
	firstFamilyCount = max(firstFamilyCount, 1)
	o := newOrdering(ranked)
	out := make([]Pair, 0, len(ranked))
	first := ranked[0].RacesAs6()
	lastIf := "" // the interface of the previous attempt
	for n := range len(ranked) {
		fam := first
		if n >= firstFamilyCount && (n-firstFamilyCount)%2 == 0 {
			fam = !first
		}
		if h, g := o.first(fam), o.first(!fam); h < 0 || (g >= 0 && tier(&ranked[g]) < tier(&ranked[h])) {
			fam = !fam
		}
		i := o.next(fam, lastIf)
		out = append(out, ranked[i])
		lastIf = ranked[i].Interface
	}
	return out
}

// ordering is the working state of one Order call. Runs of pairs that cannot be
// preferred are jumped over, so that each choice costs about one step per pair
// already taken after the family's head.
type ordering struct {
	ranked []Pair
	used   []bool
	head   [2]int32      // per family ([1] is IPv6): no unused pair of it before
	prev   [2]netip.Addr // per family: the source of its previous attempt
	// Per pair i: the next pair of its family (len(ranked) when none); and the next
	// pair of its family whose tier or interface, or tier or source, differs from
	// i's.
	nextFam, nextIf, nextSrc []int32
}

// newOrdering returns the state to order ranked, its runs computed from the end.
func newOrdering(ranked []Pair) ordering {
	n := len(ranked)
	idx := make([]int32, 3*n)
	o := ordering{ranked: ranked, used: make([]bool, n),
		nextFam: idx[:n:n], nextIf: idx[n : 2*n : 2*n], nextSrc: idx[2*n:]}
	after := [2]int32{int32(n), int32(n)} // per family: its first pair after i
	for i := n - 1; i >= 0; i-- {
		p, f := &ranked[i], b2i(ranked[i].RacesAs6())
		j := after[f]
		o.nextFam[i], o.nextIf[i], o.nextSrc[i] = j, j, j
		if j < int32(n) && tier(&ranked[j]) == tier(p) {
			if ranked[j].Interface == p.Interface {
				o.nextIf[i] = o.nextIf[j]
			}
			if ranked[j].Src.Addr() == p.Src.Addr() {
				o.nextSrc[i] = o.nextSrc[j]
			}
		}
		after[f] = int32(i)
	}
	o.head = after
	return o
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// first returns the family's (is6) first unused pair, or -1 when none is left.
func (o *ordering) first(is6 bool) int32 {
	f := b2i(is6)
	h := o.head[f]
	for h < int32(len(o.ranked)) && o.used[h] {
		h = o.nextFam[h]
	}
	o.head[f] = h
	if h == int32(len(o.ranked)) {
		return -1
	}
	return h
}

// next marks as used and returns the index of the family's (is6) next pair to
// try, of which one must be left; lastIf is the interface of the previous
// attempt.
func (o *ordering) next(is6 bool, lastIf string) int {
	f := b2i(is6)
	h := o.first(is6)
	pick := o.prefer(h, f, lastIf)
	o.used[pick] = true
	o.prev[f] = o.ranked[pick].Src.Addr()
	return int(pick)
}

// prefer returns the pair to take for family f, whose first unused pair is h: the
// first of h's tier on another interface than lastIf, else the first of h's tier
// from another source than the family's previous attempt, else h.
func (o *ordering) prefer(h int32, f int, lastIf string) int32 {
	if lastIf != "" {
		if i := o.find(h, o.nextIf, func(p *Pair) bool { return p.Interface != "" && p.Interface != lastIf }); i >= 0 {
			return i
		}
	}
	if prev := o.prev[f]; prev.IsValid() {
		if i := o.find(h, o.nextSrc, func(p *Pair) bool { return p.Src.Addr() != prev }); i >= 0 {
			return i
		}
	}
	return h
}

// find returns the first unused pair, from the family's head h on and in h's tier,
// for which wanted is true, or -1. wanted must depend only on what run (nextIf or
// nextSrc) groups pairs by: a pair that is not wanted is jumped over with its run.
func (o *ordering) find(h int32, run []int32, wanted func(*Pair) bool) int32 {
	t := tier(&o.ranked[h])
	for i := h; i < int32(len(o.ranked)); {
		switch p := &o.ranked[i]; {
		case o.used[i]:
			i = o.nextFam[i]
		case tier(p) != t:
			return -1
		case !wanted(p):
			i = run[i]
		default:
			return i
		}
	}
	return -1
}

// Tiers group the ranking before latency: a pair's tier comes from its source.
const (
	tierUsable     = iota // alive or not yet known
	tierSuspect           // failed where other sources worked, not yet dead
	tierDeprecated        // preferred lifetime over, or optimistic (RFC 6724 source rule 3)
	tierDead              // failed repeatedly, or the kernel says it cannot work
)

// tierOf returns the tier of a pair whose source has health h.
func tierOf(h probe.Health, deprecated bool) int {
	switch {
	case h == probe.Dead:
		return tierDead
	case deprecated:
		return tierDeprecated
	case h == probe.Suspect:
		return tierSuspect
	}
	return tierUsable
}

// tier returns p's tier.
func tier(p *Pair) int { return tierOf(p.Health, p.Deprecated) }
