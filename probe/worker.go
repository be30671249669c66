package probe

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/sockopt"
)

// enqueue queues paths (of the asked class or not; re-checks are asked) for the
// workers, r waiting for them, starts workers as needed, and returns how many were
// queued.
func (p *Prober) enqueue(paths []Path, asked, recheck bool, r *roundDone) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range paths {
		if p.q.add(c, asked, recheck, r) {
			n++
		} else {
			delete(p.lastProbe, c)
		}
	}
	// A busy worker takes nothing before its connect ends (a dropped one: the
	// whole Timeout): start one for each queued path no idle worker will take.
	for p.q.workers < p.cfg.Concurrency && p.q.workers-p.q.running < p.q.len() && p.ctx.Err() == nil {
		p.q.workers++
		p.wg.Go(p.worker)
	}
	return n
}

// maxOther is how many connects to destinations not asked for may run at once.
func (p *Prober) maxOther() int { return max(1, p.cfg.Concurrency/2) }

// worker probes queued paths until none is left that it may take.
func (p *Prober) worker() {
	for {
		p.mu.Lock()
		var j *job
		if p.ctx.Err() == nil {
			j = p.q.take(p.maxOther())
		}
		if j == nil {
			p.q.workers--
			p.mu.Unlock()
			return
		}
		recheck := j.recheck
		p.mu.Unlock()
		p.probe(j.path, recheck)
		p.mu.Lock()
		done := p.q.finish(j)
		if p.ctx.Err() != nil {
			done = nil
		}
		for _, r := range done {
			r.done()
		}
		p.mu.Unlock()
	}
}

// stopWorkers drops what is queued when the Prober closes.
func (p *Prober) stopWorkers() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.q.drain()
}

// probe connects over path and reports the outcome. A re-check connects again
// while the estimate of the path is unsettled by it (Store.Unsettled: a sample far
// from the estimate), up to shiftUpAfter connects in all, so that a path that
// changed is known at once; a round's probe leaves that to the next rounds.
func (p *Prober) probe(path Path, recheck bool) {
	for range shiftUpAfter {
		if !p.probeOnce(path) || !recheck || !p.store.Unsettled(path.Src.Addr(), path.Dst.Addr()) {
			return
		}
	}
}

// probeOnce connects once over path and reports the outcome. It reports whether
// the path worked.
func (p *Prober) probeOnce(path Path) bool {
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
		return false // closing: the attempt was cut short
	}
	p.log.Debug("probe", zap.Stringer("src", path.Src), zap.Stringer("dst", path.Dst),
		zap.Stringer("result", o.Result), zap.Duration("duration", o.Duration), zap.Error(err))
	p.store.Report(o)
	return o.Result.PathWorks()
}
