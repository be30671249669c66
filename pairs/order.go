package pairs

import (
	"net/netip"

	"github.com/getapr/getapr/probe"
)

// Order returns ranked (best first, as Selector.Get returns it) in the order to race
// the pairs in, following RFC 8305 section 4: the best pair first; then the first
// firstFamilyCount pairs (at least 1) of the best pair's address family, after which
// the families alternate, one pair each, until one runs out. Within a family the
// next pair is the best one left, except that a pair whose source differs from the
// family's previous attempt is preferred to repeating that source, as long as it is
// in the same tier (usable, suspect, deprecated or dead source): a source that does not
// work then costs one attempt, not several in a row, while a dead source never moves
// ahead of a live one. Order does not modify ranked.
func Order(ranked []Pair, firstFamilyCount int) []Pair {
	if len(ranked) == 0 {
		return nil
	}
	firstFamilyCount = max(firstFamilyCount, 1)
	out := make([]Pair, 0, len(ranked))
	used := make([]bool, len(ranked))
	first := ranked[0].Is6()
	var fams [2]familyQueue // [1] is IPv6
	for n := 0; n < len(ranked); n++ {
		fam := first
		if n >= firstFamilyCount && (n-firstFamilyCount)%2 == 0 {
			fam = !first
		}
		i := fams[b2i(fam)].next(ranked, used, fam)
		if i < 0 {
			fam = !fam
			i = fams[b2i(fam)].next(ranked, used, fam)
		}
		used[i] = true
		out = append(out, ranked[i])
	}
	return out
}

// familyQueue walks the pairs of one family in Order.
type familyQueue struct {
	head int        // no unused pair of the family before it
	prev netip.Addr // source of the family's previous attempt
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Tiers group the ranking before latency: a pair's tier comes from its source.
const (
	tierUsable     = iota // alive or not yet known
	tierSuspect           // failed where other sources worked, not yet dead
	tierDeprecated        // preferred lifetime over (RFC 6724 source rule 3)
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

// next returns the index of the family's (is6) next pair to try, or -1 when none
// is left: the best unused one, or the best unused one of the same tier whose
// source differs from the previous attempt's.
func (q *familyQueue) next(ranked []Pair, used []bool, is6 bool) int {
	for q.head < len(ranked) && (used[q.head] || ranked[q.head].Is6() != is6) {
		q.head++
	}
	if q.head == len(ranked) {
		return -1
	}
	pick := q.head
	if q.prev.IsValid() && ranked[pick].Src.Addr() == q.prev {
		t := tier(&ranked[pick])
		for i := pick + 1; i < len(ranked); i++ {
			if used[i] || ranked[i].Is6() != is6 {
				continue
			}
			if tier(&ranked[i]) != t {
				break
			}
			if ranked[i].Src.Addr() != q.prev {
				pick = i
				break
			}
		}
	}
	q.prev = ranked[pick].Src.Addr()
	return pick
}
