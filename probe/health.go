package probe

import (
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// The re-check backoff of dead sources: the first re-check is RecheckMin after the
// source died, each further one twice as long after the previous, up to RecheckMax;
// but at most RecheckBusy apart while the application dials and the source would
// rank first if it worked (see Recheck). A change on the source's link (see
// Observe) re-checks it at once and starts the backoff over.
const (
	RecheckMin  = time.Second
	RecheckMax  = 60 * time.Second
	RecheckBusy = 10 * time.Second
)

// source is what the Store knows of one source address.
type source struct {
	addr      netip.Addr
	health    Health
	since     time.Time     // when health last changed
	failures  int           // blamed failures in a row
	nextCheck time.Time     // a dead source's next re-check; zero if none is due
	backoff   time.Duration // the wait before the re-check after nextCheck
	kernel    bool          // dead because the kernel says so; only Observe or a working path revive it
	prefix    netip.Prefix  // the on-link prefix of the address; invalid before Observe
	farFail   bool          // a blamed failure was to a destination beyond the on-link prefixes
	link      int           // the index of the address's link; 0 before Observe
	network   netstate.Network
	router    bool // its default router is FAILED, and has not been usable since: suspect until proved beyond the link

	pairs   map[netip.Addr]*pair // by destination
	near    nearTable            // by NearbyPrefix of the destination (nearKeyOf)
	working int                  // pairs whose last result proved the path
}

// addSource starts a fresh source, health Unknown.
func (s *Store) addSource(a netip.Addr, now time.Time) *source {
	sc := &source{
		addr:  a,
		since: now,
		pairs: make(map[netip.Addr]*pair),
	}
	s.sources[a] = sc
	s.changed = now
	return sc
}

// removeSource forgets a source and its pairs.
func (s *Store) removeSource(sc *source, now time.Time) {
	s.npairs -= len(sc.pairs)
	delete(s.sources, sc.addr)
	s.changed = now
}

// setWorking records whether p's last result proved its path.
func (sc *source) setWorking(p *pair, w bool) {
	if p.working == w {
		return
	}
	p.working = w
	if w {
		sc.working++
	} else {
		sc.working--
	}
}

// reaches reports whether one of sc's pairs to a destination in the nearby prefix
// np worked at its last attempt.
func (sc *source) reaches(np nearKey) bool {
	return slices.ContainsFunc(sc.near.get(np), func(p *pair) bool { return p.working })
}

// fails reports whether sc's last conclusive result to dst was a failure.
func (sc *source) fails(dst netip.Addr) bool {
	p := sc.pairTo(dst)
	return p != nil && !p.working && !p.stats.LastFailure.IsZero()
}

// setHealth moves sc to h.
func (s *Store) setHealth(sc *source, h Health, now time.Time) {
	if sc.health == h {
		return
	}
	s.log.Info("source health changed", zap.Stringer("src", sc.addr),
		zap.Stringer("from", sc.health), zap.Stringer("to", h), zap.Int("failures", sc.failures))
	sc.health, sc.since = h, now
	s.changed = now
}

// pathWorked applies a result that proved a path from sc to dst: the source is alive
// at once, unless it failed beyond its link and dst is only on-link (reaching the
// gateway says nothing about the uplink behind it).
func (s *Store) pathWorked(sc *source, dst netip.Addr, now time.Time) {
	if sc.health != Unknown && sc.health != Alive && (sc.farFail || sc.router) && s.onLink(dst) {
		return
	}
	if sc.failures != 0 || !sc.nextCheck.IsZero() {
		s.changed = now
	}
	// sc.router stays: the router's FAILED episode goes on (see
	// routerEvidence), and the next FAILED of it does not make the source
	// suspect again.
	sc.failures, sc.farFail, sc.kernel = 0, false, false
	sc.nextCheck, sc.backoff = time.Time{}, 0
	s.setHealth(sc, Alive, now)
}

// pathFailed applies a timeout or unreachable result from sc to dst. It counts
// against the source only when the source is to blame (see blames), and never when
// dst is on another link than the source's (another uplink's gateway): the first
// such failure makes it suspect, the deadAfter-th dead.
func (s *Store) pathFailed(sc *source, dst netip.Addr, now time.Time) {
	if (s.onLink(dst) && !sc.owns(dst)) || !s.blames(sc, dst) {
		return
	}
	sc.failures++
	s.changed = now
	if !s.onLink(dst) {
		sc.farFail = true
	}
	switch {
	case sc.health == Dead:
	case sc.failures >= s.deadAfter:
		s.kill(sc, now, false)
	default:
		s.setHealth(sc, Suspect, now)
		if sc.nextCheck.IsZero() {
			// A suspect source ranks after the others and gets no traffic of
			// the application's: only re-checks tell when it works again.
			s.schedule(sc, now.Add(RecheckMin))
		}
	}
}

// kill makes sc dead. A source killed by traffic is re-checked with backoff; one
// killed by the kernel (kernel true) waits for Observe or a working path.
func (s *Store) kill(sc *source, now time.Time, kernel bool) {
	sc.kernel = kernel
	sc.backoff, sc.nextCheck = 0, time.Time{}
	if !kernel {
		s.schedule(sc, now.Add(RecheckMin))
	}
	s.setHealth(sc, Dead, now)
	s.changed = now
}

// schedule makes sc's next re-check due at t, with the backoff started over, and
// wakes whoever waits for re-checks (the Prober).
func (s *Store) schedule(sc *source, t time.Time) {
	sc.backoff, sc.nextCheck = RecheckMin, t
	s.wake()
}

// wake tells whoever waits on Due that something may be due sooner.
func (s *Store) wake() {
	select {
	case s.due <- struct{}{}:
	default:
	}
}

// Due delivers a value when a re-check may have become due sooner than before: a
// source died or became suspect of traffic, a change on its link calls for a
// re-check now, or a path got slower (see Slower). The Prober waits on it; the
// channel has a buffer of one and is never closed.
func (s *Store) Due() <-chan struct{} { return s.due }

// blames reports whether a failure from sc to dst is the source's fault: another
// source that is not dead, and whose own last result to dst was no failure,
// reaches dst or a destination near it, or sc reaches nothing at all while
// such a source of its family reaches something. A destination that fails
// from the other sources too is down, whatever the source.
func (s *Store) blames(sc *source, dst netip.Addr) bool {
	np := nearKeyOf(dst)
	for _, o := range s.sources {
		if o == sc || o.health == Dead || o.fails(dst) {
			continue
		}
		if o.reaches(np) {
			return true
		}
		if sc.working == 0 && o.working > 0 && o.addr.Is4() == sc.addr.Is4() {
			return true
		}
	}
	return false
}

// owns reports whether dst is on sc's own link: inside its prefix, or link-local on
// its zone.
func (sc *source) owns(dst netip.Addr) bool {
	if dst.IsLinkLocalUnicast() {
		return sc.addr.IsLinkLocalUnicast() && sc.addr.Zone() == dst.Zone()
	}
	return sc.prefix.IsValid() && sc.prefix.Contains(dst.WithZone(""))
}

// onLink reports whether dst is reached without a router (see
// netstate.Snapshot.OnLink); before Observe only link-local addresses are.
func (s *Store) onLink(dst netip.Addr) bool {
	if s.snap == nil {
		return dst.IsLinkLocalUnicast()
	}
	return s.snap.OnLink(dst)
}

// Health returns what is known of the source address src; Unknown if nothing.
func (s *Store) Health(src netip.Addr) Health {
	src = addrKey(src)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sc := s.sources[src]; sc != nil {
		return sc.health
	}
	return Unknown
}

// Recheck returns the sources whose re-check is due at now, in address order: dead
// and suspect sources by their backoff, and sources that a change on their link
// (carrier back, a router answering again, an address re-added, a FAILED router)
// calls to re-check at once. The caller (the Prober) is expected to probe them; one result
// that proves a path revives a source. Sources dead because the kernel says so
// (link down, no route) are not returned: Observe revives them.
//
// The next re-check of a source that stays dead or suspect (or whose router stays
// FAILED, unless a result has proved the source since) is scheduled twice as far
// out as the last (1 s, 2 s, 4 s ... up to 60 s); when busy (the application
// dials) and the source would rank first if it worked, at most RecheckBusy out,
// and a re-check scheduled further out before the application dialed is brought
// in to RecheckBusy from now. Other sources are re-checked once.
func (s *Store) Recheck(now time.Time, busy bool) []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []netip.Addr
	for _, sc := range s.sources {
		if sc.nextCheck.IsZero() || (sc.health == Dead && sc.kernel) {
			continue
		}
		if sc.nextCheck.After(now) {
			// A backoff that grew while the application was idle is cut
			// back to RecheckBusy once it dials (the busy promise holds from
			// its first dial, not from the re-check after).
			if busy && sc.nextCheck.Sub(now) > RecheckBusy && (sc.health == Dead || sc.health == Suspect) && s.promising(sc, now) {
				sc.backoff, sc.nextCheck = RecheckBusy, now.Add(RecheckBusy)
			}
			continue
		}
		due = append(due, sc.addr)
		if sc.health != Dead && sc.health != Suspect && (!sc.router || sc.health == Alive) {
			sc.nextCheck, sc.backoff = time.Time{}, 0
			continue
		}
		limit := RecheckMax
		if busy && s.promising(sc, now) {
			limit = RecheckBusy
		}
		sc.backoff = min(2*sc.backoff, limit)
		sc.nextCheck = now.Add(sc.backoff)
	}
	slices.SortFunc(due, netip.Addr.Compare)
	return due
}

// promising reports whether sc would rank first for some destination if it
// worked: one of its measured pairs, at the lowest estimate it held lately (see
// pair.sample), is faster than every measured pair of a source of its family that
// is not dead to the same destination.
func (s *Store) promising(sc *source, now time.Time) bool {
	for _, p := range sc.pairs {
		if p.stats.Samples == 0 {
			continue
		}
		mine := p.stats.SRTT
		if p.floor > 0 && now.Sub(p.floorAt) <= floorTTL {
			mine = min(mine, p.floor)
		}
		best := true
		for _, o := range s.sources {
			if o == sc || o.health == Dead || o.addr.Is4() != sc.addr.Is4() {
				continue
			}
			if q := o.pairs[p.dst]; q != nil && q.stats.Samples > 0 && q.stats.SRTT <= mine {
				best = false
				break
			}
		}
		if best {
			return true
		}
	}
	return false
}

// NextRecheck returns the earliest time a source's re-check is due; ok is false
// when none is.
func (s *Store) NextRecheck() (next time.Time, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, sc := range s.sources {
		if sc.nextCheck.IsZero() || (sc.health == Dead && sc.kernel) {
			continue
		}
		if !ok || sc.nextCheck.Before(next) {
			next, ok = sc.nextCheck, true
		}
	}
	return next, ok
}
