package probe

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// recheckPaths is how many paths a source is re-checked over at a time.
const recheckPaths = 3

// run is the Prober's loop: it starts rounds when they are due, re-checks sources
// when the Store says so, and re-checks paths that were faster earlier while the
// application asks for destinations.
func (p *Prober) run() {
	defer p.stopWorkers()
	timer := time.NewTimer(0)
	defer timer.Stop()
	var (
		lastRound  time.Time    // start of the last full or early round
		nextFull   = time.Now() // the first round is due at once
		nextSlower time.Time    // the next re-check of a path faster earlier, while busy
	)
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-timer.C:
		case <-p.kick:
		case <-p.store.Due():
		}
		now := time.Now()
		full, early := p.due(now, nextFull)
		if (full || early) && (lastRound.IsZero() || now.Sub(lastRound) >= minRoundGap) {
			p.round(now, full)
			lastRound = now
			if full {
				nextFull = now.Add(p.jitter())
			}
		}
		busy := p.busy(now)
		p.recheck(now, busy)
		nextSlower = time.Time{}
		if busy {
			nextSlower = p.reprobe(now)
		}
		timer.Reset(p.sleep(now, nextFull, lastRound, nextSlower))
	}
}

// jitter returns Interval ±10%, saturated at the largest Duration (an
// Interval near it means "never").
func (p *Prober) jitter() time.Duration {
	iv := p.cfg.Interval
	base, j := iv-iv/10, rand.N(iv/5+1)
	if base > math.MaxInt64-j {
		return math.MaxInt64
	}
	return base + j
}

// busy reports whether the application asked for a destination in the last
// RecheckBusy.
func (p *Prober) busy(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.lastWant.IsZero() && now.Sub(p.lastWant) < RecheckBusy
}

// due reports whether a full round is due (its time has come, or the network
// changed) and whether asked-for destinations wait for an early round.
func (p *Prober) due(now, nextFull time.Time) (full, early bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !now.Before(nextFull) || p.changed, len(p.pending) > 0 && !p.earlyAt().After(now)
}

// earlyAt returns when the earliest pending destination is due for an early
// round: at once, or for a quiet Prober quietWantDelay after it was asked for.
// p.mu is held and something is pending.
func (p *Prober) earlyAt() time.Time {
	var at time.Time
	first := true
	for d := range p.pending {
		t := time.Time{}
		if asked, ok := p.pendingAt[d]; ok && p.cfg.Quiet {
			t = asked.Add(quietWantDelay)
		}
		if first || t.Before(at) {
			at, first = t, false
		}
	}
	return at
}

// sleep returns how long the loop may sleep: until the next full round, a
// re-check, the end of the gap before an early round that waits, or the next
// re-check of a path faster earlier (nextSlower, unless zero).
func (p *Prober) sleep(now, nextFull, lastRound, nextSlower time.Time) time.Duration {
	gap := lastRound.Add(minRoundGap) // no round starts before
	wake := nextFull
	if wake.Before(gap) {
		wake = gap
	}
	if !nextSlower.IsZero() && nextSlower.Before(wake) {
		wake = nextSlower
	}
	if t, ok := p.store.NextRecheck(); ok && t.Before(wake) {
		wake = t
	}
	p.mu.Lock()
	pending, changed := len(p.pending) > 0, p.changed
	var early time.Time
	if pending {
		early = p.earlyAt()
	}
	p.mu.Unlock()
	if pending || changed {
		t := gap
		if early.After(t) {
			t = early
		}
		if t.Before(wake) {
			wake = t
		}
	}
	return max(0, wake.Sub(now))
}

// round probes the candidate paths of every target (full) or of the asked-for
// destinations that are due (early). Paths probed recently (see claim) are
// skipped unless the network changed; dead sources are left to their re-checks.
func (p *Prober) round(now time.Time, full bool) {
	snap := p.w.Snapshot()
	p.mu.Lock()
	// After a change, an eager Prober probes every path again; a quiet one
	// leaves that to the re-checks of what changed, within its budget.
	force := full && p.changed && !p.cfg.Quiet
	var (
		dsts  []netip.AddrPort
		first *roundDone
	)
	if full {
		all := p.targets(snap, now)
		p.ntargets = len(all)
		p.prune(all)
		p.changed = false
		for _, d := range all {
			if p.waiting(d, now) {
				continue // the application's own connect is under way
			}
			dsts = append(dsts, d)
			delete(p.pending, d)
			delete(p.pendingAt, d)
		}
		if p.status && !p.firstDone {
			p.firstDone = true
			// left starts at one for the round itself, so that paths done
			// while others are still being queued cannot end it early.
			first = &roundDone{left: 1, done: func() { close(p.first) }}
		}
	} else {
		for d := range p.pending {
			if !p.waiting(d, now) {
				dsts = append(dsts, d)
				delete(p.pending, d)
				delete(p.pendingAt, d)
			}
		}
		slices.SortFunc(dsts, netip.AddrPort.Compare)
	}
	for _, d := range dsts {
		p.lastDst[d] = now
	}
	p.mu.Unlock()

	p.rounds.Add(1)
	n := 0
	for _, d := range dsts {
		asked := p.isWanted(d)
		paths := p.roundPaths(snap, d, asked)
		paths = p.claim(now, paths, force, p.pathInterval())
		n += p.enqueue(paths, asked, false, first)
	}
	p.log.Debug("round", zap.Bool("full", full), zap.Int("destinations", len(dsts)), zap.Int("paths", n))
	if first != nil {
		p.mu.Lock()
		if first.left--; first.left == 0 {
			first.done()
		}
		p.mu.Unlock()
	}
}

// waiting reports whether a quiet Prober holds d back at now: it was asked for
// less than quietWantDelay ago. p.mu is held.
func (p *Prober) waiting(d netip.AddrPort, now time.Time) bool {
	at, ok := p.pendingAt[d]
	return p.cfg.Quiet && ok && now.Before(at.Add(quietWantDelay))
}

// roundPaths returns the paths of a round to d: its candidates whose source is not
// dead. A quiet Prober probes a destination the application asked for only when
// it has more than one candidate source: otherwise there is nothing to choose.
func (p *Prober) roundPaths(snap *netstate.Snapshot, d netip.AddrPort, asked bool) []Path {
	var paths []Path
	srcs := make(map[netip.Addr]struct{})
	for _, c := range p.candidates(snap, d) {
		srcs[addrKey(c.Src.Addr())] = struct{}{}
		if p.store.Health(c.Src.Addr()) != Dead {
			paths = append(paths, c)
		}
	}
	if p.cfg.Quiet && asked && len(srcs) < 2 {
		return nil
	}
	return paths
}

// pathInterval is the least time between two probes of a path in rounds: half the
// Interval, or for a quiet Prober the whole Interval.
func (p *Prober) pathInterval() time.Duration {
	if p.cfg.Quiet {
		return p.cfg.Interval
	}
	return p.cfg.Interval / 2
}

// isWanted reports whether d is a destination the application asked for.
func (p *Prober) isWanted(d netip.AddrPort) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.wanted[d]
	return ok
}

// claim keeps the paths that are not queued or being probed and, unless force,
// were not probed in the last interval (for a quiet Prober, nor measured by the
// application), and marks them as probed now.
func (p *Prober) claim(now time.Time, paths []Path, force bool, interval time.Duration) []Path {
	if p.cfg.Quiet && !force {
		paths = slices.DeleteFunc(paths, func(c Path) bool { return p.measuredSince(c, now.Add(-interval)) })
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := paths[:0]
	for _, c := range paths {
		if _, busy := p.q.byPath[c]; busy {
			continue
		}
		if last, ok := p.lastProbe[c]; ok && !force && now.Sub(last) < interval {
			continue
		}
		p.lastProbe[c] = now
		out = append(out, c)
	}
	return out
}

// measuredSince reports whether the Store has a result over path's pair since t.
func (p *Prober) measuredSince(path Path, t time.Time) bool {
	ps, ok := p.store.Pair(path.Src.Addr(), path.Dst.Addr())
	return ok && (ps.LastSuccess.After(t) || ps.LastFailure.After(t))
}

// recheck probes the sources whose re-check is due, over up to recheckPaths paths
// each, those that failed last first: to the destinations in use and, when the
// source's default router is FAILED, to the router itself, which makes the kernel
// solicit it again (for a quiet Prober, only while a destination is in use or
// the status was asked for).
func (p *Prober) recheck(now time.Time, busy bool) {
	due := p.store.Recheck(now, busy)
	if len(due) == 0 {
		return
	}
	snap := p.w.Snapshot()
	p.mu.Lock()
	targets := p.targets(snap, now)
	port := p.recentPort()
	// A quiet Prober goes to a FAILED router only while the application
	// dials (a destination is wanted) or the status was asked for.
	routers := !p.cfg.Quiet || p.status || len(p.wanted) > 0
	p.mu.Unlock()
	var paths []Path
	for _, src := range due {
		var mine []Path
		for _, t := range targets {
			for _, c := range p.candidates(snap, t) {
				if addrKey(c.Src.Addr()) == src {
					mine = append(mine, c)
				}
			}
		}
		slices.SortStableFunc(mine, func(a, b Path) int { return boolCmp(p.failedLast(b), p.failedLast(a)) })
		mine = mine[:min(len(mine), recheckPaths)]
		if r, ok := failedRouter(snap, src, port); ok && routers && !slices.ContainsFunc(mine, func(c Path) bool { return c.Dst == r.Dst }) {
			mine = append(mine, r)
		}
		paths = append(paths, mine...)
	}
	paths = p.claim(now, paths, true, 0)
	p.log.Debug("re-check", zap.Int("sources", len(due)), zap.Int("paths", len(paths)))
	if len(paths) > 0 {
		p.rounds.Add(1)
		p.enqueue(paths, true, true, nil)
	}
}

// failedRouter returns the path from src to its default router
// (netstate.Snapshot.RouterOf) on port, when that router is FAILED in the
// kernel's neighbour cache.
func failedRouter(snap *netstate.Snapshot, src netip.Addr, port uint16) (Path, bool) {
	a, ok := snap.Addr(src)
	if !ok {
		return Path{}, false
	}
	gw, ok := snap.RouterOf(a)
	if n, _ := snap.Neighbor(a.Index, gw); !ok || n.State != netstate.NeighFailed {
		return Path{}, false
	}
	if gw.Is6() != src.Is6() {
		return Path{}, false // an IPv4 route via IPv6 (RFC 8950): no connect from src reaches it
	}
	return Path{Src: netip.AddrPortFrom(a.IP, 0), Dst: netip.AddrPortFrom(gw, port)}, true
}

// recentPort is the port of the destination the application asked for last, or
// the probe port; p.mu is held.
func (p *Prober) recentPort() uint16 {
	var last time.Time
	port := p.cfg.Port
	for d, at := range p.wanted {
		if at.After(last) {
			last, port = at, d.Port()
		}
	}
	return port
}

// reprobe re-checks, every RecheckBusy, the paths to destinations the
// application dialed in the last RecheckBusy that were measured faster earlier
// than they are now (Store.Slower), so that a path that got fast again leads
// again. It returns when the next such re-check is due (zero if none).
func (p *Prober) reprobe(now time.Time) (next time.Time) {
	p.mu.Lock()
	var dialed []netip.AddrPort // lately; the others' paths the rounds' budget sees to
	for d, at := range p.wanted {
		if now.Sub(at) < RecheckBusy {
			dialed = append(dialed, d)
		}
	}
	p.mu.Unlock()
	if len(dialed) == 0 {
		return time.Time{}
	}
	dsts := make([]netip.Addr, len(dialed))
	for i, d := range dialed {
		dsts[i] = addrKey(d.Addr())
	}
	slow, next := p.store.slowerTo(now, RecheckBusy, dsts)
	var paths []Path
	for i, d := range dialed {
		for _, ap := range slow {
			if dsts[i] == ap.Dst {
				paths = append(paths, Path{Src: netip.AddrPortFrom(p.zoned(ap.Src), 0), Dst: d})
			}
		}
	}
	slices.SortFunc(paths, comparePaths)
	paths = p.claim(now, paths, false, RecheckBusy)
	if len(paths) > 0 {
		p.log.Debug("re-check of paths faster earlier", zap.Int("paths", len(paths)))
		p.rounds.Add(1)
		p.enqueue(paths, true, true, nil)
	}
	return next
}

// zoned returns src as the snapshot has it (a link-local source with its zone).
func (p *Prober) zoned(src netip.Addr) netip.Addr {
	if a, ok := p.w.Snapshot().Addr(src); ok {
		return a.IP
	}
	return src
}

func comparePaths(a, b Path) int {
	if c := a.Src.Compare(b.Src); c != 0 {
		return c
	}
	return a.Dst.Compare(b.Dst)
}

// failedLast reports whether the last result over path was a failure.
func (p *Prober) failedLast(path Path) bool {
	ps, ok := p.store.Pair(path.Src.Addr(), path.Dst.Addr())
	return ok && ps.LastFailure.After(ps.LastSuccess)
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
