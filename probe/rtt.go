package probe

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"
)

// How the RTT estimate follows a path whose delay changed (see pair.sample).
const (
	// shiftUpAfter is how many samples in a row far above SRTT restart the
	// estimate at the latest one; shiftDownAfter the same far below. A path that
	// got faster needs fewer: queueing adds delay, nothing takes it away, so a
	// sample far below the estimate is rarely noise.
	shiftUpAfter   = 3
	shiftDownAfter = 2
	// shiftMin is the least distance from SRTT that counts as far, whatever the
	// variation: a millisecond more or less is never a change of path.
	shiftMin = 2 * time.Millisecond
	// floorTTL is how long the lowest SRTT a pair held stays the yardstick of
	// "measured faster earlier" once no sample confirms it.
	floorTTL = 5 * time.Minute
)

// sample records a result that proved the path, with its RTT sample r (see
// PairStats.success). A sample far from the estimate, more than 4·RTTVAR and at
// least half of SRTT above it (or a third below) and at least shiftMin, is
// counted, against the estimate from before the first of them; after shiftUpAfter
// such samples above in a row (shiftDownAfter below) the path has changed, and the
// estimate restarts at SRTT = r, RTTVAR = r/8. Between those the smoothing is
// RFC 6298's, so a lone outlier moves the estimate by an eighth only. It returns
// how much the estimate moved when it restarted (above 0: higher than before
// the run; below: lower), or 0, measured from the pair's own estimate: a restart
// that only takes back what slowLink lifted the pair by is no change of the link.
func (p *pair) sample(r time.Duration, now time.Time) (moved time.Duration) {
	ps := &p.stats
	restart := false
	if r > 0 && ps.Samples > 0 {
		if p.shift == 0 {
			p.baseSRTT, p.baseRTTVar = ps.SRTT, ps.RTTVar
		}
		// Judge against the estimate before the run of far samples: each of them
		// widens RTTVAR, which would hide the next.
		switch base, far := p.baseSRTT, max(4*p.baseRTTVar, shiftMin); {
		case r > base+max(far, base/2):
			p.shift = max(p.shift, 0) + 1
		case r < base-max(far, base/3):
			p.shift = min(p.shift, 0) - 1
		default:
			p.shift, p.lifted = 0, 0 // the estimate is the pair's own now
		}
		if p.shift >= shiftUpAfter || -p.shift >= shiftDownAfter {
			p.shift = 0
			ps.Samples, restart = 0, true // success takes r as a first sample
		}
	}
	ps.success(r, now)
	if restart {
		// The run agreed on the new delay: a variation of r/2, as for a first
		// sample of an unknown path, would hide the next change for a while.
		ps.RTTVar = r / 8
		moved, p.lifted = r-(p.baseSRTT-p.lifted), 0
	}
	if ps.Samples == 0 {
		return moved
	}
	if p.floor == 0 || ps.SRTT <= p.floor || now.Sub(p.floorAt) > floorTTL {
		p.floor, p.floorAt = ps.SRTT, now
	}
	return moved
}

// slowLink applies a delay that appeared on the path of p, from sc (its estimate
// restarted up higher), to the other measured pairs of sc's link that reach
// beyond it: an uplink that got slower is slower for all of them, and each would
// otherwise need a run of slow connects of its own before it gave way. They keep
// their lowest estimate, so while the application dials they are re-checked (see
// Slower), and one that did not get slower is corrected at its next samples.
func (s *Store) slowLink(sc *source, p *pair, up time.Duration) {
	s.moveLink(sc, p, up, "path slower: its link's other pairs too", func(q *pair) bool {
		q.stats.SRTT += up
		q.lifted += up
		return true
	})
}

// fastLink undoes slowLink when the path of p, from sc, got faster again (its
// own estimate restarted down lower; a pair that only sheds what slowLink lifted
// it by says nothing of the link): the link's other pairs that were measured
// faster earlier (see pair.slower) come down by as much, not below the lowest
// estimate they held. Otherwise each would lead again only after its own
// re-checks, and a dial that can no longer take p (its source removed) would
// leave the link for a slower one meanwhile. A pair that did not get faster is
// corrected at its next samples, as after slowLink.
func (s *Store) fastLink(sc *source, p *pair, down time.Duration) {
	s.moveLink(sc, p, down, "path faster: its link's other pairs too", func(q *pair) bool {
		if !q.slower() {
			return false
		}
		was := q.stats.SRTT
		q.stats.SRTT = max(q.stats.SRTT-down, q.floor)
		q.lifted = max(q.lifted-(was-q.stats.SRTT), 0)
		return true
	})
}

// moveLink calls move for each measured pair of sc's link, other than p, that
// reaches beyond the link, and ends the run of far samples of those it moved;
// it logs msg with how many moved, by how much.
func (s *Store) moveLink(sc *source, p *pair, by time.Duration, msg string, move func(q *pair) bool) {
	if sc.link == 0 {
		return
	}
	n := 0
	for _, o := range s.sources {
		if o.link != sc.link {
			continue
		}
		for _, q := range o.pairs {
			if q != p && q.stats.Samples > 0 && !s.onLink(q.dst) && move(q) {
				q.shift = 0
				n++
			}
		}
	}
	if ce := s.log.Check(zap.DebugLevel, msg); ce != nil {
		ce.Write(zap.Stringer("src", sc.addr), zap.Stringer("dst", p.dst), zap.Duration("by", by), zap.Int("pairs", n))
	}
}

// slower reports whether p was measured clearly faster earlier than it is now:
// its SRTT is more than 10 ms and half again above the lowest it held lately.
// Those are the bounds of the ranking's hysteresis: a path less slower than that
// would not lead again.
func (p *pair) slower() bool {
	s, f := p.stats.SRTT, p.floor
	return p.stats.Samples > 0 && f > 0 && s-f > 10*time.Millisecond && s > f*3/2
}

// AddrPair is a (source, destination) address pair.
type AddrPair struct{ Src, Dst netip.Addr }

// Slower returns the pairs measured faster earlier than they are now (see
// pair.slower) whose last result is idle or more old, in address order, and when
// the next other such pair will be (zero if none): while the application dials,
// the Prober re-checks them, so that a path that got fast again leads again
// within about idle.
func (s *Store) Slower(now time.Time, idle time.Duration) (due []AddrPair, next time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sc := range s.sources {
		if sc.health == Dead {
			continue // its re-checks see to it
		}
		for _, p := range sc.pairs {
			due, next = p.slowerDue(sc, now, idle, due, next)
		}
	}
	sortAddrPairs(due)
	return due, next
}

// slowerTo is Slower for the pairs to dsts only (keyed by addrKey; a
// destination may come more than once): in time of len(dsts) lookups per
// source, whatever the Store holds. The Prober asks it at every wake while the
// application dials, about the few destinations dialed lately.
func (s *Store) slowerTo(now time.Time, idle time.Duration, dsts []netip.Addr) (due []AddrPair, next time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sc := range s.sources {
		if sc.health == Dead {
			continue // its re-checks see to it
		}
		for i, d := range dsts {
			if p := sc.pairs[d]; p != nil && !slices.Contains(dsts[:i], d) {
				due, next = p.slowerDue(sc, now, idle, due, next)
			}
		}
	}
	sortAddrPairs(due)
	return due, next
}

// slowerDue adds p, a pair of sc, to due when it is slower than it was
// measured earlier (see slower) and its last result is idle or more old at
// now, and returns due and next, moved earlier to when p will be that old if
// it is slower but not yet.
func (p *pair) slowerDue(sc *source, now time.Time, idle time.Duration, due []AddrPair, next time.Time) ([]AddrPair, time.Time) {
	if !p.slower() {
		return due, next
	}
	if at := p.updated.Add(idle); !at.After(now) {
		due = append(due, AddrPair{sc.addr, p.dst})
	} else if next.IsZero() || at.Before(next) {
		next = at
	}
	return due, next
}

// Unsettled reports whether the last samples of the pair (src, dst) were far
// from its estimate without having moved it yet: one more measurement decides
// whether its path changed.
func (s *Store) Unsettled(src, dst netip.Addr) bool {
	src, dst = addrKey(src), addrKey(dst)
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.sources[src].pairTo(dst)
	return p != nil && p.shift != 0
}

func sortAddrPairs(ps []AddrPair) {
	slices.SortFunc(ps, func(a, b AddrPair) int { return cmp.Or(a.Src.Compare(b.Src), a.Dst.Compare(b.Dst)) })
}
