package probe

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/sockopt"
)

// recheckPaths is how many paths a dead source is re-checked over at a time.
const recheckPaths = 3

// run is the Prober's loop: it starts rounds when they are due and re-checks dead
// sources when their backoff says so.
func (p *Prober) run() {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastRound time.Time // start of the last full or early round
	nextFull := time.Now()  // the first round is due at once
	first := true
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-timer.C:
		case <-p.kick:
		case <-p.store.died:
		}
		now := time.Now()
		full, early := p.due(now, nextFull)
		if (full || early) && (lastRound.IsZero() || now.Sub(lastRound) >= minRoundGap) {
			p.round(now, full, first)
			lastRound = now
			if full {
				nextFull, first = now.Add(p.jitter()), false
			}
		}
		p.recheck(now)
		timer.Reset(p.sleep(now, nextFull, lastRound))
	}
}

// jitter returns Interval ±10%.
func (p *Prober) jitter() time.Duration {
	iv := p.cfg.Interval
	return iv - iv/10 + rand.N(iv/5+1)
}

// due reports whether a full round is due (its time has come, or the network
// changed) and whether asked-for destinations wait for an early round.
func (p *Prober) due(now, nextFull time.Time) (full, early bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !now.Before(nextFull) || p.changed, len(p.pending) > 0
}

// sleep returns how long the loop may sleep: until the next full round, a
// re-check, or the end of the gap before an early round that waits.
func (p *Prober) sleep(now, nextFull, lastRound time.Time) time.Duration {
	wake := nextFull
	if t, ok := p.store.NextRecheck(); ok && t.Before(wake) {
		wake = t
	}
	if _, early := p.due(now, nextFull); early || p.changedSince() {
		if t := lastRound.Add(minRoundGap); t.Before(wake) {
			wake = t
		}
	}
	return max(0, wake.Sub(now))
}

func (p *Prober) changedSince() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// round probes, in the background, the candidate paths of every target (full) or
// of the asked-for destinations (early). Paths probed less than Interval/2 ago are
// skipped unless the network changed; dead sources are left to their re-checks.
func (p *Prober) round(now time.Time, full, first bool) {
	snap := p.w.Snapshot()
	p.mu.Lock()
	force := full && p.changed
	var dsts []netip.AddrPort
	if full {
		dsts = p.targets(snap)
		p.ntargets = len(dsts)
		p.prune(dsts)
		p.changed = false
		clear(p.pending)
	} else {
		for d := range p.pending {
			dsts = append(dsts, d)
		}
		slices.SortFunc(dsts, netip.AddrPort.Compare)
		clear(p.pending)
	}
	for _, d := range dsts {
		p.lastDst[d] = now
	}
	p.mu.Unlock()

	var paths []Path
	for _, d := range dsts {
		for _, c := range p.candidates(snap, d) {
			if p.store.Health(c.Src.Addr()) != Dead {
				paths = append(paths, c)
			}
		}
	}
	paths = p.claim(now, paths, force)
	p.log.Debug("round", zap.Bool("full", full), zap.Int("destinations", len(dsts)), zap.Int("paths", len(paths)))
	var done func()
	if first {
		done = func() { close(p.first) }
	}
	p.launch(paths, done)
}

// claim keeps the paths that are not being probed and, unless force, were not
// probed in the last Interval/2, and marks them as probed now.
func (p *Prober) claim(now time.Time, paths []Path, force bool) []Path {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := paths[:0]
	for _, c := range paths {
		if _, busy := p.inflight[c]; busy {
			continue
		}
		if last, ok := p.lastProbe[c]; ok && !force && now.Sub(last) < p.cfg.Interval/2 {
			continue
		}
		p.inflight[c] = struct{}{}
		p.lastProbe[c] = now
		out = append(out, c)
	}
	return out
}

// recheck probes the dead sources whose re-check is due, over up to recheckPaths
// paths each, those that failed last first.
func (p *Prober) recheck(now time.Time) {
	due := p.store.Recheck(now)
	if len(due) == 0 {
		return
	}
	snap := p.w.Snapshot()
	targets := p.Targets()
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
		paths = append(paths, mine[:min(len(mine), recheckPaths)]...)
	}
	paths = p.claim(now, paths, true)
	p.log.Debug("re-check", zap.Int("sources", len(due)), zap.Int("paths", len(paths)))
	if len(paths) > 0 {
		p.launch(paths, nil)
	}
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

// launch probes paths in the background, at most Concurrency at a time over all
// rounds, and calls done (if not nil) when all have ended, unless the Prober is
// closing.
func (p *Prober) launch(paths []Path, done func()) {
	p.rounds.Add(1)
	p.wg.Go(func() {
		var wg sync.WaitGroup
		for i, c := range paths {
			if err := p.sem.Acquire(p.ctx, 1); err != nil {
				p.release(paths[i:]...)
				break
			}
			wg.Go(func() {
				defer p.sem.Release(1)
				p.probe(c)
			})
		}
		wg.Wait()
		if done != nil && p.ctx.Err() == nil {
			done()
		}
	})
}

// release marks paths as no longer being probed.
func (p *Prober) release(paths ...Path) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range paths {
		delete(p.inflight, c)
	}
}

// probe connects once over path and reports the outcome.
func (p *Prober) probe(path Path) {
	defer p.release(path)
	p.connects.Add(1)
	p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
	defer cancel()
	start := time.Now()
	c, err := p.cfg.Dial(ctx, path)
	o := Outcome{Path: path, Result: ResultOf(err), Start: start, Duration: time.Since(start), Active: true}
	if err == nil && c != nil {
		if rtt, ok := sockopt.KernelRTT(c); ok {
			o.KernelRTT = rtt
		}
		c.Close()
	}
	if p.ctx.Err() != nil {
		return // closing: the attempt was cut short
	}
	p.log.Debug("probe", zap.Stringer("src", path.Src), zap.Stringer("dst", path.Dst),
		zap.Stringer("result", o.Result), zap.Duration("duration", o.Duration), zap.Error(err))
	p.store.Report(o)
}
