package dialer

import (
	"context"
	"errors"
	"net"
	"syscall"
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

// handshakeFunc is the second step of an attempt whose connect succeeded,
// when success is more than a connect (a TLS handshake over c): it returns
// the connection to hand out, or an error (the caller then closes c), and how
// long it waited before the handshake began (for what it needed to begin it,
// the same for every attempt: an HTTPS answer). It calls begin once, when
// the handshake begins, unless it fails before. It must return soon after ctx
// is done.
type handshakeFunc func(ctx context.Context, p pairs.Pair, c net.Conn, begin func()) (conn net.Conn, waited time.Duration, err error)

// queue is where a race takes its pairs from, in racing order: a fixed list,
// or a *pairs.Stream that grows as DNS answers arrive.
type queue interface {
	// Next takes the next pair; ok is false when there is none now.
	Next() (p pairs.Pair, ok bool)
	// Peek returns what Next would, without taking it.
	Peek() (p pairs.Pair, ok bool)
	// Left is the number of pairs not taken.
	Left() int
	// Changed is closed at the next change of the queue; nil: it never changes.
	Changed() <-chan struct{}
	// Done reports whether the queue will not change any more.
	Done() bool
}

// list is a fixed queue.
type list struct {
	ps   []pairs.Pair
	next int
}

func (l *list) Next() (pairs.Pair, bool) {
	p, ok := l.Peek()
	if ok {
		l.next++
	}
	return p, ok
}

func (l *list) Peek() (pairs.Pair, bool) {
	if l.next >= len(l.ps) {
		return pairs.Pair{}, false
	}
	return l.ps[l.next], true
}

func (l *list) Left() int                { return len(l.ps) - l.next }
func (l *list) Changed() <-chan struct{} { return nil }
func (l *list) Done() bool               { return true }

// race is one Happy Eyeballs dial over pairs in racing order (RFC 8305 section
// 5, draft-ietf-happy-happyeyeballs-v3): the first attempt starts at once,
// each next one after the attempt delay or as soon as an attempt fails, the
// first established connection wins, and the others are canceled and closed.
// At most maxInFlight attempts run at once: when that many do and the next is
// due, the oldest still connecting is given up (canceled, and reported as a
// loser is; see makeRoom) once it has run minGiveUpAge, and the next starts when it has ended. With a
// handshake, an attempt is established when its handshake is done, and the
// delay after an attempt whose connect completed becomes the handshake's
// expected time. Pairs that join the queue mid-race are started in their
// turn. Once a connection wins, the other attempts are canceled, and run
// returns it when they have ended, which a canceled connect does at once;
// when one is inside the caller's Control hook, which may not, run returns
// without waiting (as net.Dialer does), unless the dial has a Trace, and a
// goroutine collects them, closes what connected late and reports them.
type race struct {
	queue     queue
	dial      dialFunc
	handshake handshakeFunc            // nil: success is the connect
	report    func(probe.Outcome)      // called for every attempt but Fallback pairs' (and loopback ones' without handshake), from run's goroutine or, after run returned, drain's
	result    func(error) probe.Result // how an attempt's error counts for probe
	delay     time.Duration            // PairDialer.AttemptDelay; negative: serial
	fallback  time.Duration            // PairDialer.FallbackDelay; used when positive
	trace     *Trace                   // nil: none
	hooks     *hookGate                // the attempts' Control hook; nil: none
	log       *zap.Logger              // never nil: zap.NewNop() for none
}

// The bound on the attempts of one race in flight at once. A dial to a name
// with many addresses that drop SYNs would otherwise hold a socket and a
// goroutine for each until the kernel gives up on it (about 127 s on Linux),
// all of them at once: net.Dialer holds one (two with its fallback).
const (
	// maxInFlight is how many attempts of a race may run at once: enough that
	// the attempt delay, not the bound, paces a race over a name's usual
	// handful of addresses times a host's few sources (16 attempts span 4 s at
	// the default 250 ms), few enough that what a dial holds stays small
	// however many addresses its name has.
	maxInFlight = 16
	// minGiveUpAge is how long an attempt runs at least before it is given up
	// to make room for the next: one SYN retransmission (TCP's initial RTO is
	// 1 s) and a slow round trip on top, so that a slow path that works is not
	// cut before it can answer. It is net.Dialer's floor too: it never gives
	// an address less than 2 s of the time left.
	minGiveUpAge = 2 * time.Second
)

// ending is how one attempt of a race ended.
type ending uint8

const (
	won     ending = iota // connected first: the dial's connection
	failed                // failed before any attempt won
	late                  // connected after another had won; closed
	lost                  // canceled because another attempt won
	givenUp               // canceled, unanswered, to make room for a later attempt
)

var endingMessages = [...]string{
	won:     "attempt won",
	failed:  "attempt failed",
	late:    "attempt connected late, closed",
	lost:    "attempt canceled",
	givenUp: "attempt given up for a later one",
}

// String returns the ending's log message.
func (e ending) String() string { return endingMessages[e] }

// canceled reports whether the race canceled the attempt before it ended by
// itself: what it waited for says as much as a loser's wait.
func (e ending) canceled() bool { return e == lost || e == givenUp }

// attemptResult is what one attempt goroutine hands back: its end, or (with
// progress set) that its connect succeeded and its handshake began, or (with
// waiting too) that its connect succeeded and its handshake waits to begin.
type attemptResult struct {
	index    int
	progress bool
	waiting  bool
	conn     net.Conn
	err      error
	start    time.Time
	dur      time.Duration
	// connect is how long the connect took when it succeeded before a
	// handshake; 0 when there is no handshake or the connect failed.
	connect   time.Duration
	kernelRTT time.Duration // the kernel's RTT of the connect, with connect
	// waited is how long the handshake step waited before its handshake
	// began (an ECH configuration's HTTPS answer), part of dur.
	waited time.Duration
	// cut is set when the attempt failed with its context ended: the dial's
	// deadline or cancellation, a winner elsewhere, or a serial attempt's
	// share of the time running out.
	cut bool
}

// racer is the state of one run of a race.
type racer struct {
	*race
	ctx     context.Context
	results chan attemptResult
	timer   *time.Timer     // starts the next attempt; nil until needed
	armed   bool            // timer is set and has not fired
	holding bool            // no timer while the latest attempt's handshake waits to begin; its beginning arms one
	due     time.Time       // when the armed timer fires
	changed <-chan struct{} // the queue's, until it changes
	running int             // attempts started and not yet collected
	giving  int             // attempts given up (see makeRoom) and not yet collected
	first   int             // no attempt before it runs (see oldest)
	left    int             // the queue's Left after the latest start or change
	t0      time.Time       // when the first attempt started
	other   bool            // an attempt of the other family than the first has started
	// connected is set once an attempt's connect has completed (a handshake's
	// progress): net.Dialer's fallback would not start after that.
	connected bool
	// Per attempt, in start order: its pair, when it started, when its
	// handshake began after its connect (zero until then), how long the
	// connect took, whether its handshake waits to begin, its error if it
	// failed (or was given up) before any winner, what cancels it alone, and
	// whether it was given up.
	pairs   []pairs.Pair
	started []time.Time
	shook   []time.Time
	connect []time.Duration
	waiting []bool
	failed  []*AttemptError
	cancels []context.CancelFunc
	given   []bool
}

// run races the pairs and returns the winning connection, or an *AttemptsError
// listing every attempt. The queue must hold at least one pair.
func (r *race) run(parent context.Context) (net.Conn, error) {
	if r.queue.Done() && r.queue.Left() == 1 {
		return r.single(parent)
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	rc := &racer{race: r, ctx: ctx, results: make(chan attemptResult, 8), changed: r.queue.Changed()}
	rc.start()
	c := rc.wait()
	if rc.timer != nil {
		rc.timer.Stop()
	}
	cancel()
	if c == nil {
		// wait returns nil only when no attempt runs.
		return nil, rc.err(parent.Err())
	}
	if rc.running > 0 && r.hooks.close() && rc.trace == nil {
		// An attempt is inside the caller's Control hook, which may not
		// return soon: as net.Dialer, the winner does not wait for it. The
		// attempts end by themselves, their context canceled; this
		// goroutine closes and reports them.
		go rc.drain()
		return c, nil
	}
	// The other attempts end at once, their context canceled: they are
	// reported before the next dial (and a Trace hears of them before
	// DialContext returns).
	rc.drain()
	return c, nil
}

// single makes the one attempt of a race whose queue holds one pair, on the
// caller's goroutine: there is nothing to stagger (see one).
func (r *race) single(ctx context.Context) (net.Conn, error) {
	p, _ := r.queue.Next()
	return r.one(ctx, p)
}

// one makes the one attempt of a race over the one pair p on the caller's
// goroutine (it needs no queue). The attempt is made even when ctx has ended:
// the dial function then fails at once, with the error net.Dialer gives.
func (r *race) one(ctx context.Context, p pairs.Pair) (net.Conn, error) {
	if t := r.trace; t != nil && t.AttemptStart != nil {
		t.AttemptStart(p)
	}
	res := r.try(ctx, 0, p, nil)
	if res.err == nil {
		r.collect(p, res, won)
		return res.conn, nil
	}
	ae := r.collect(p, res, failed)
	return nil, &AttemptsError{Attempts: []*AttemptError{ae}, Cause: ctx.Err()}
}

// start launches the attempt over the queue's next pair, unless there is none
// or the dial is over, and arms the timer for the one after it. When
// maxInFlight attempts run, it makes room instead (see makeRoom).
func (rc *racer) start() {
	rc.armed = false
	if rc.ctx.Err() != nil {
		return
	}
	if hold := rc.hold(); hold > 0 {
		rc.arm(hold)
		return
	}
	if _, ok := rc.queue.Peek(); !ok {
		return
	}
	if rc.running >= maxInFlight {
		rc.makeRoom()
		return
	}
	p, _ := rc.queue.Next()
	i := len(rc.pairs)
	now := time.Now()
	if i == 0 {
		rc.t0 = now
	}
	rc.pairs = append(rc.pairs, p)
	rc.started = append(rc.started, now)
	rc.shook = append(rc.shook, time.Time{})
	rc.connect = append(rc.connect, 0)
	rc.waiting = append(rc.waiting, false)
	rc.failed = append(rc.failed, nil)
	ctx, cancel := context.WithCancel(rc.ctx)
	rc.cancels = append(rc.cancels, cancel)
	rc.given = append(rc.given, false)
	rc.running++
	rc.left = rc.queue.Left()
	rc.other = rc.other || p.RacesAs6() != rc.pairs[0].RacesAs6()
	if t := rc.trace; t != nil && t.AttemptStart != nil {
		t.AttemptStart(p)
	}
	go rc.attempt(ctx, cancel, i, p)
	_, more := rc.queue.Peek()
	if rc.delay < 0 || !more {
		return
	}
	d := attemptDelay(rc.delay, p)
	if due, ok := rc.fallbackDue(); ok {
		d = min(d, max(due.Sub(now), MinAttemptDelay))
	}
	rc.arm(d) // and hold, when it fires, for FallbackDelay
}

// makeRoom gives up the oldest attempt in flight that has not connected (the
// oldest of all when every one has: a handshake is further on than any
// connect), as the next is due while maxInFlight run: it cancels it, and wait
// starts the next when it has ended, as after a failure (a canceled connect
// ends at once). While that attempt has run less than minGiveUpAge, it arms
// the timer for when it has instead. It gives up no other while one given up
// has not ended yet.
func (rc *racer) makeRoom() {
	if rc.giving > 0 {
		return
	}
	i := rc.oldest()
	for j := i; j < len(rc.pairs); j++ {
		if rc.failed[j] == nil && !rc.progressed(j) {
			i = j
			break
		}
	}
	if wait := minGiveUpAge - time.Since(rc.started[i]); wait > 0 {
		rc.arm(wait)
		return
	}
	rc.given[i] = true
	rc.giving++
	rc.cancels[i]()
}

// progressed reports whether attempt i's connect has completed: its
// handshake runs or waits to begin.
func (rc *racer) progressed(i int) bool {
	return rc.waiting[i] || !rc.shook[i].IsZero()
}

// oldest returns the oldest attempt still running, while one runs and none
// given up is still running (see makeRoom). Only a winner ends a race's
// attempts without an entry in failed, and it ends the race.
func (rc *racer) oldest() int {
	for rc.failed[rc.first] != nil {
		rc.first++
	}
	return rc.first
}

// fallbackDue returns when the queue's next pair is due by FallbackDelay,
// as net.Dialer starts its fallback: FallbackDelay (at least MinAttemptDelay)
// after the first attempt, when that pair is the first of the other family
// and no attempt's connect has completed yet. ok is false otherwise (then
// FallbackDelay only holds it: see hold).
func (rc *racer) fallbackDue() (due time.Time, ok bool) {
	if rc.fallback <= 0 || rc.other || rc.connected || len(rc.pairs) == 0 {
		return time.Time{}, false
	}
	next, ok := rc.queue.Peek()
	if !ok || next.RacesAs6() == rc.pairs[0].RacesAs6() {
		return time.Time{}, false
	}
	return rc.t0.Add(max(rc.fallback, MinAttemptDelay)), true
}

// hold returns how long the queue's next pair must still wait for
// FallbackDelay, 0 for none: the first attempt of the other family than the
// first attempt's starts no earlier than FallbackDelay after it, unless every
// attempt started before has failed (none runs). start applies it whatever
// woke it: the timer, a failure, pairs joining, a connect's progress.
func (rc *racer) hold() time.Duration {
	if rc.fallback <= 0 || rc.other || rc.running == 0 {
		return 0
	}
	next, ok := rc.queue.Peek()
	if !ok || next.RacesAs6() == rc.pairs[0].RacesAs6() {
		return 0
	}
	return rc.fallback - time.Since(rc.t0)
}

// arm sets the timer to fire after d.
func (rc *racer) arm(d time.Duration) {
	if rc.timer == nil {
		rc.timer = time.NewTimer(d)
	} else {
		rc.timer.Reset(d)
	}
	rc.armed, rc.holding, rc.due = true, false, time.Now().Add(d)
}

// attempt runs on its own goroutine: one attempt over pair p, the i-th, with
// ctx, a child of the race's that cancel ends. In serial mode it gets its
// share of the time left (see partialDeadline).
func (rc *racer) attempt(ctx context.Context, cancel context.CancelFunc, i int, p pairs.Pair) {
	defer cancel()
	if rc.delay < 0 {
		if dl, ok := ctx.Deadline(); ok {
			pd, ok := partialDeadline(time.Now(), dl, rc.queue.Left()+1)
			if !ok {
				pd = dl // passed already: ctx is done
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, pd)
			defer cancel()
		}
	}
	rc.results <- rc.try(ctx, i, p, func(r attemptResult) { rc.results <- r })
}

// try makes attempt i over p: the connect, then the handshake if the race has
// one, telling progress (when not nil) between the two. It never returns a
// connection with an error.
func (r *race) try(ctx context.Context, i int, p pairs.Pair, progress func(attemptResult)) attemptResult {
	start := time.Now()
	res := attemptResult{index: i, start: start}
	c, err := r.dial(ctx, p)
	if err == nil && r.handshake != nil {
		res.connect = time.Since(start)
		if p.SrcClass != netstate.Loopback && !p.Fallback {
			res.kernelRTT, _ = sockopt.KernelRTT(c)
		}
		begin := func() {}
		if progress != nil {
			connect := res.connect // a copy: the closure must not move res to the heap
			progress(attemptResult{index: i, progress: true, waiting: true, connect: connect})
			begin = func() { progress(attemptResult{index: i, progress: true, connect: connect}) }
		}
		var hc net.Conn
		if hc, res.waited, err = r.handshake(ctx, p, c, begin); err == nil {
			c = hc
		}
	}
	if err != nil && c != nil {
		c.Close()
		c = nil
	}
	res.conn, res.err, res.dur = c, err, time.Since(start)
	res.cut = err != nil && ctx.Err() != nil
	return res
}

// wait collects attempts until one succeeds (returning it), or until all have
// failed and no pair is left or coming, or the dial's context has ended
// (returning nil). The next attempt starts when the timer fires, when an
// attempt fails (a failure frees its turn, as in RFC 8305) or was given up
// (see makeRoom), when nothing runs and a pair is there, or when pairs join
// (see joined). An attempt given up that connected anyway wins.
func (rc *racer) wait() net.Conn {
	done := rc.ctx.Done()
	for {
		if rc.running == 0 {
			switch {
			case rc.ctx.Err() != nil:
				return nil
			case rc.queue.Left() > 0:
				rc.start()
				continue
			case rc.queue.Done():
				return nil
			}
		}
		var tick <-chan time.Time
		if rc.armed {
			tick = rc.timer.C
		}
		select {
		case res := <-rc.results:
			if res.progress {
				rc.progress(res)
				continue
			}
			rc.running--
			how := failed
			if rc.given[res.index] {
				rc.giving--
				if errors.Is(res.err, context.Canceled) {
					how = givenUp // not a failure that came with the cancellation
				}
			}
			if res.err == nil {
				rc.collect(rc.pairs[res.index], res, won)
				return res.conn
			}
			rc.failed[res.index] = rc.collect(rc.pairs[res.index], res, how)
			rc.start()
		case <-tick:
			rc.start()
		case <-rc.changed:
			rc.changed = rc.queue.Changed()
			rc.joined()
		case <-done:
			done = nil // the attempts end by themselves now
		}
	}
}

// progress applies an attempt's completed connect. While its handshake waits
// to begin (for an HTTPS answer, which every attempt would wait for), the
// latest attempt holds the timer: another connect would not help. When its
// handshake begins, the timer is set to the handshake's expected time instead
// of the connect's (the draft's "extend the timer when the attempt has made
// progress").
func (rc *racer) progress(res attemptResult) {
	i := res.index
	latest := i == len(rc.pairs)-1
	rc.connect[i], rc.connected = res.connect, true
	if res.waiting {
		rc.waiting[i] = true
		if latest && rc.armed {
			rc.timer.Stop()
			rc.armed, rc.holding = false, true
		}
		return
	}
	rc.waiting[i], rc.shook[i] = false, time.Now()
	if latest && (rc.armed || rc.holding) {
		rc.arm(handshakeDelay(rc.delay, rc.pairs[i], res.connect))
	}
}

// joined handles a change of the queue mid-race. When the timer is not
// counting down to a next start (the queue had run dry), the next attempt is
// due one delay after the latest attempt's start (or its connect, when it is
// in its handshake), as if its pair had been there. When the change brought
// pairs and an attempt has stalled (its own delay passed without its connect
// or handshake completing), the next one starts as soon as MinAttemptDelay
// after the latest start allows (the draft's "fire the timer sooner"). With
// nothing running, wait starts the next pair itself.
func (rc *racer) joined() {
	left := rc.queue.Left()
	grew := left > rc.left
	rc.left = left
	if left == 0 || rc.running == 0 || rc.delay < 0 || rc.ctx.Err() != nil {
		return
	}
	now := time.Now()
	last := len(rc.pairs) - 1
	due := rc.due
	if !rc.armed {
		var ok bool
		if due, ok = rc.expected(last); !ok {
			rc.holding = true // until its handshake begins (see progress)
			return
		}
	}
	soon := rc.started[last].Add(MinAttemptDelay)
	if grew && rc.stalled(now) && soon.Before(due) {
		due = soon // in the past, or within MinAttemptDelay: arm clamps it
	}
	if fd, ok := rc.fallbackDue(); ok && fd.Before(due) {
		due = fd // FallbackDelay's moment, but not sooner than MinAttemptDelay allows
		if due.Before(soon) {
			due = soon
		}
	}
	rc.arm(max(due.Sub(now), 0))
}

// expected returns when attempt i is expected to have connected, or, in its
// handshake, to have finished that; ok is false while its handshake waits to
// begin (no time is expected of it).
func (rc *racer) expected(i int) (t time.Time, ok bool) {
	switch {
	case rc.waiting[i]:
		return time.Time{}, false
	case !rc.shook[i].IsZero():
		return rc.shook[i].Add(handshakeDelay(rc.delay, rc.pairs[i], rc.connect[i])), true
	}
	return rc.started[i].Add(attemptDelay(rc.delay, rc.pairs[i])), true
}

// stalled reports whether an attempt still running is past its expected
// time.
func (rc *racer) stalled(now time.Time) bool {
	for i := range rc.pairs {
		if due, ok := rc.expected(i); ok && rc.failed[i] == nil && !now.Before(due) {
			return true
		}
	}
	return false
}

// drain collects the attempts still running after the winner, whose context is
// canceled by now, closing any that established a connection anyway. It ends
// when the last of them does: a connect stops at once when canceled, so only
// a Control hook that blocks without watching its context holds it (see
// hookGate).
func (rc *racer) drain() {
	for rc.running > 0 {
		res := <-rc.results
		if res.progress {
			continue
		}
		rc.running--
		p := rc.pairs[res.index]
		if res.conn != nil {
			rc.collect(p, res, late)
			res.conn.Close()
			continue
		}
		rc.collect(p, res, lost)
	}
}

// collect reports one attempt to probe (unless its pair is a Fallback one:
// nothing to learn of a source the kernel chose; or, in a plain connect race, a
// loopback one: probe keeps nothing of loopback sources, and the report would
// only take the Store's lock to drop it) and to the trace, and logs it; for a
// failure before any winner, or an attempt given up, it returns the attempt's
// error (for one given up, that it was: see givenUpError).
func (r *race) collect(p pairs.Pair, res attemptResult, how ending) *AttemptError {
	o := r.outcome(p, res, how)
	if r.report != nil && !p.Fallback && (p.SrcClass != netstate.Loopback || r.handshake != nil) {
		if res.connect > 0 {
			// The connect succeeded before the handshake: that first, with
			// its own duration, then what the handshake proves.
			r.report(probe.Outcome{Path: p.Path(), Result: probe.Success, Start: res.start,
				Duration: res.connect, KernelRTT: res.kernelRTT})
		}
		if res.connect == 0 || o.Result.TLS() {
			r.report(o)
		}
	}
	if t := r.trace; t != nil && t.AttemptDone != nil {
		t.AttemptDone(p, res.dur, res.err)
	}
	if ce := r.log.Check(zap.DebugLevel, how.String()); ce != nil {
		ce.Write(zap.Stringer("src", p.Src), zap.Stringer("dst", p.Dst),
			zap.String("interface", p.Interface), zap.Stringer("result", o.Result),
			zap.Duration("duration", res.dur), zap.Duration("connect", res.connect), zap.Error(res.err))
	}
	switch how {
	case failed:
		return &AttemptError{Pair: p, Duration: res.dur, Err: res.err}
	case givenUp:
		return &AttemptError{Pair: p, Duration: res.dur, Err: withGivenUp(res.err)}
	}
	return nil
}

// outcome is what res tells probe: of the connect, or, when the connect
// succeeded before a handshake, of the handshake.
func (r *race) outcome(p pairs.Pair, res attemptResult, how ending) probe.Outcome {
	o := probe.Outcome{Path: p.Path(), Start: res.start, Duration: res.dur}
	switch {
	case res.connect > 0:
		// The handshake's time starts when it began: not while it waited
		// for an HTTPS answer (ECH).
		hello := res.connect + res.waited
		o.Start, o.Duration = res.start.Add(hello), res.dur-hello
		o.Result = probe.TLSResultOf(res.err)
		rtt := res.connect
		if res.kernelRTT > 0 {
			rtt = res.kernelRTT
		}
		if how.canceled() && o.Result == probe.Canceled || cutShort(res) {
			// Unanswered while another attempt finished its own (or was
			// due to start), or when the dial's time ran out: a middlebox
			// only if no handshake came for longer than one over this path
			// takes, probe says.
			o.Result = probe.Canceled
			if probe.TLSOverdue(rtt, o.Duration) {
				o.Result = probe.Middlebox
			}
		}
	case res.conn != nil:
		o.Result = probe.Success
		if p.SrcClass != netstate.Loopback && !p.Fallback { // nothing to learn of loopback's RTT
			o.KernelRTT, _ = sockopt.KernelRTT(res.conn)
		}
	default:
		o.Result = r.result(res.err)
		if how.canceled() && o.Result == probe.Canceled || cutShort(res) {
			// Canceled unanswered because another attempt connected (or
			// was due to start), or because the dial's time ran out: probe
			// decides what the wait proves (a timeout past the pair's RTO).
			o.Result = probe.Superseded
		}
	}
	return o
}

// cutShort reports whether an attempt timed out because its context's time
// ran out (the dial's deadline, a serial attempt's share of it), not because
// the path or the kernel said so: how long it had says little of the path.
func cutShort(res attemptResult) bool {
	return res.cut && isTimeout(res.err) && !errors.Is(res.err, syscall.ETIMEDOUT)
}

// err returns the error of a race that no attempt won; cause is the error of
// the dial's context, if done.
func (rc *racer) err(cause error) *AttemptsError {
	e := &AttemptsError{Untried: rc.queue.Left(), Cause: cause}
	for _, a := range rc.failed {
		if a != nil {
			e.Attempts = append(e.Attempts, a)
		}
	}
	return e
}
