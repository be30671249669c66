package dialer

import (
	"context"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/sockopt"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// dialFunc makes one connect attempt over a pair. It must return soon after ctx
// is done, and return a nil net.Conn with any error.
type dialFunc func(ctx context.Context, p pairs.Pair) (net.Conn, error)

// race is one Happy Eyeballs dial over pairs in racing order (RFC 8305 section
// 5): the first attempt starts at once, each next one after the attempt delay
// or as soon as an attempt fails, the first established connection wins, and
// the others are canceled and closed. run owns every goroutine it starts and
// returns only when all have ended.
type race struct {
	pairs    []pairs.Pair
	dial     dialFunc
	report   func(probe.Outcome)      // called for every attempt but Fallback pairs', from run's goroutine
	result   func(error) probe.Result // how an attempt's error counts for probe
	delay    time.Duration            // PairDialer.AttemptDelay; negative: serial
	fallback time.Duration            // PairDialer.FallbackDelay; used when positive
	trace    *Trace                   // nil: none
	log      *zap.Logger              // never nil: zap.NewNop() for none
}

// ending is how one attempt of a race ended.
type ending uint8

const (
	won    ending = iota // connected first: the dial's connection
	failed               // failed before any attempt won
	late                 // connected after another had won; closed
	lost                 // canceled because another attempt won
)

var endingMessages = [...]string{
	won:    "attempt won",
	failed: "attempt failed",
	late:   "attempt connected late, closed",
	lost:   "attempt canceled",
}

// String returns the ending's log message.
func (e ending) String() string { return endingMessages[e] }

// attemptResult is what one attempt goroutine hands back.
type attemptResult struct {
	index int
	conn  net.Conn
	err   error
	start time.Time
	dur   time.Duration
}

// racer is the state of one run of a race.
type racer struct {
	*race
	ctx     context.Context
	results chan attemptResult // buffered for every pair: attempts never block
	timer   *time.Timer        // starts the next attempt; nil until needed
	next    int                // index of the next pair to start
	running int                // attempts started and not yet collected
	failed  []*AttemptError    // by pair index; nil where not failed
	t0      time.Time          // when the first attempt started
	other   bool               // an attempt of the other family than the first has started
}

// run races the pairs and returns the winning connection, or an *AttemptsError
// listing every attempt. There must be at least one pair.
func (r *race) run(parent context.Context) (net.Conn, error) {
	if len(r.pairs) == 1 {
		return r.single(parent)
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	rc := &racer{
		race:    r,
		ctx:     ctx,
		results: make(chan attemptResult, len(r.pairs)),
		failed:  make([]*AttemptError, len(r.pairs)),
	}
	rc.start()
	c := rc.wait()
	if rc.timer != nil {
		rc.timer.Stop()
	}
	cancel()
	rc.drain()
	if c != nil {
		return c, nil
	}
	return nil, rc.err(parent.Err())
}

// single makes the one attempt of a race over one pair on the caller's
// goroutine: there is nothing to stagger. The attempt is made even when ctx
// has ended: the dial function then fails at once, with the error net.Dialer
// gives.
func (r *race) single(ctx context.Context) (net.Conn, error) {
	if t := r.trace; t != nil && t.AttemptStart != nil {
		t.AttemptStart(r.pairs[0])
	}
	start := time.Now()
	c, err := r.dial(ctx, r.pairs[0])
	res := attemptResult{conn: c, err: err, start: start, dur: time.Since(start)}
	if err == nil {
		r.collect(res, won)
		return c, nil
	}
	if c != nil {
		c.Close()
		res.conn = nil
	}
	ae := r.collect(res, failed)
	return nil, &AttemptsError{Attempts: []*AttemptError{ae}, Cause: ctx.Err()}
}

// start launches the attempt over the next pair, unless none is left or the
// dial is over, and arms the timer for the one after it.
func (rc *racer) start() {
	if rc.next >= len(rc.pairs) || rc.ctx.Err() != nil {
		return
	}
	i := rc.next
	rc.next++
	rc.running++
	if i == 0 {
		rc.t0 = time.Now()
	}
	rc.other = rc.other || rc.pairs[i].Is6() != rc.pairs[0].Is6()
	if t := rc.trace; t != nil && t.AttemptStart != nil {
		t.AttemptStart(rc.pairs[i])
	}
	go rc.attempt(i)
	if rc.delay < 0 || rc.next >= len(rc.pairs) {
		return
	}
	d := attemptDelay(rc.delay, rc.pairs[i])
	if rc.fallback > 0 && !rc.other && rc.pairs[rc.next].Is6() != rc.pairs[0].Is6() {
		// The first attempt of the other family waits for FallbackDelay.
		d = max(d, rc.fallback-time.Since(rc.t0))
	}
	if rc.timer == nil {
		rc.timer = time.NewTimer(d)
	} else {
		rc.timer.Reset(d)
	}
}

// attempt runs on its own goroutine: one connect over pair i. In serial mode it
// gets its share of the time left (see partialDeadline).
func (rc *racer) attempt(i int) {
	ctx := rc.ctx
	start := time.Now()
	if rc.delay < 0 {
		if dl, ok := ctx.Deadline(); ok {
			pd, ok := partialDeadline(start, dl, len(rc.pairs)-i)
			if !ok {
				pd = dl // passed already: ctx is done
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, pd)
			defer cancel()
		}
	}
	c, err := rc.dial(ctx, rc.pairs[i])
	if err != nil && c != nil {
		c.Close()
		c = nil
	}
	rc.results <- attemptResult{index: i, conn: c, err: err, start: start, dur: time.Since(start)}
}

// wait collects attempts until one succeeds (returning it) or all have failed
// (returning nil), starting the next attempt when the timer fires or an attempt
// fails.
func (rc *racer) wait() net.Conn {
	for rc.running > 0 {
		var tick <-chan time.Time
		if rc.timer != nil {
			tick = rc.timer.C
		}
		select {
		case res := <-rc.results:
			rc.running--
			if res.err == nil {
				rc.collect(res, won)
				return res.conn
			}
			rc.failed[res.index] = rc.collect(res, failed)
			rc.start()
		case <-tick:
			rc.start()
		}
	}
	return nil
}

// drain collects the attempts still running after the winner, whose context is
// canceled by now, closing any that established a connection anyway.
func (rc *racer) drain() {
	for ; rc.running > 0; rc.running-- {
		res := <-rc.results
		if res.conn != nil {
			rc.collect(res, late)
			res.conn.Close()
			continue
		}
		rc.collect(res, lost)
	}
}

// collect reports one attempt to probe (unless its pair is a Fallback one:
// nothing to learn of a source the kernel chose) and to the trace, and logs it;
// for a failure before any winner it returns the attempt's error.
func (r *race) collect(res attemptResult, how ending) *AttemptError {
	p := r.pairs[res.index]
	o := probe.Outcome{Path: p.Path(), Start: res.start, Duration: res.dur}
	if res.conn != nil {
		o.Result = probe.Success
		if p.SrcClass != netstate.Loopback && !p.Fallback { // nothing to learn of loopback's RTT
			o.KernelRTT, _ = sockopt.KernelRTT(res.conn)
		}
	} else {
		o.Result = r.result(res.err)
		if how == lost && o.Result == probe.Canceled && overdue(p, res.dur) {
			// No answer for longer than a working path takes, while another
			// attempt connected: evidence against this path, like a timeout.
			o.Result = probe.Timeout
		}
	}
	if r.report != nil && !p.Fallback {
		r.report(o)
	}
	if t := r.trace; t != nil && t.AttemptDone != nil {
		t.AttemptDone(p, res.dur, res.err)
	}
	if ce := r.log.Check(zap.DebugLevel, how.String()); ce != nil {
		ce.Write(zap.Stringer("src", p.Src), zap.Stringer("dst", p.Dst),
			zap.String("interface", p.Interface), zap.Stringer("result", o.Result),
			zap.Duration("duration", res.dur), zap.Error(res.err))
	}
	if how != failed {
		return nil
	}
	return &AttemptError{Pair: p, Duration: res.dur, Err: res.err}
}

// err returns the error of a race that no attempt won; cause is the error of
// the dial's context, if done.
func (rc *racer) err(cause error) *AttemptsError {
	e := &AttemptsError{Untried: len(rc.pairs) - rc.next, Cause: cause}
	for _, a := range rc.failed {
		if a != nil {
			e.Attempts = append(e.Attempts, a)
		}
	}
	return e
}
