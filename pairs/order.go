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
// in the same tier (usable, deprecated source, dead source): a source that does not
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
	var last [2]netip.Addr // previous source per family; [1] is IPv6
	for n := 0; n < len(ranked); n++ {
		fam := first
		if n >= firstFamilyCount && (n-firstFamilyCount)%2 == 0 {
			fam = !first
		}
		i := pickNext(ranked, used, fam, last[b2i(fam)])
		if i < 0 {
			fam = !fam
			i = pickNext(ranked, used, fam, last[b2i(fam)])
		}
		used[i] = true
		last[b2i(fam)] = ranked[i].Src.Addr()
		out = append(out, ranked[i])
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// tier is a pair's rank group: 0 usable, 1 deprecated source, 2 dead source.
func tier(p *Pair) int {
	switch {
	case p.Health == probe.Dead:
		return 2
	case p.Deprecated:
		return 1
	}
	return 0
}

// pickNext returns the index of the next pair of the family (is6) to try, or -1
// when none is left: the best unused one, or the best unused one of the same tier
// whose source is not prev.
func pickNext(ranked []Pair, used []bool, is6 bool, prev netip.Addr) int {
	head := -1
	for i := range ranked {
		if used[i] || ranked[i].Is6() != is6 {
			continue
		}
		if head < 0 {
			head = i
			if !prev.IsValid() || ranked[i].Src.Addr() != prev {
				return i
			}
			continue
		}
		if tier(&ranked[i]) != tier(&ranked[head]) {
			break
		}
		if ranked[i].Src.Addr() != prev {
			return i
		}
	}
	return head
}
