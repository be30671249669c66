package dialer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// scriptedQueue is a queue that grows on a schedule, as a pairs.Stream does
// when DNS answers arrive: at each arrival's time its pairs are appended,
// and the queue is done after the last one (or at doneAt).
type scriptedQueue struct {
	mu      sync.Mutex
	ps      []pairs.Pair
	next    int
	done    bool
	changed chan struct{}
}

type arrival struct {
	at time.Duration
	ps []pairs.Pair
}

// newScriptedQueue starts with first; the arrivals come at their times (in
// the synctest bubble, in order) and the queue is done at doneAt, or with the
// last arrival when doneAt is zero (as a pairs.Stream is done with its last
// answer).
func newScriptedQueue(first []pairs.Pair, arrivals []arrival, doneAt time.Duration) *scriptedQueue {
	q := &scriptedQueue{ps: first, changed: make(chan struct{})}
	for i, a := range arrivals {
		last := i == len(arrivals)-1 && doneAt == 0
		time.AfterFunc(a.at, func() { q.add(a.ps, last) })
	}
	if doneAt > 0 {
		time.AfterFunc(doneAt, func() { q.add(nil, true) })
	}
	return q
}

func (q *scriptedQueue) add(ps []pairs.Pair, done bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ps = append(q.ps, ps...)
	q.done = q.done || done
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *scriptedQueue) Next() (pairs.Pair, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.next >= len(q.ps) {
		return pairs.Pair{}, false
	}
	q.next++
	return q.ps[q.next-1], true
}

func (q *scriptedQueue) Peek() (pairs.Pair, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.next >= len(q.ps) {
		return pairs.Pair{}, false
	}
	return q.ps[q.next], true
}

func (q *scriptedQueue) Left() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ps) - q.next
}

func (q *scriptedQueue) Changed() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.changed
}

func (q *scriptedQueue) Done() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.done
}

// v6Pairs returns n IPv6 pairs from 2001:db8::1, ::2, ...
func v6Pairs(n int) []pairs.Pair {
	ps := make([]pairs.Pair, n)
	for i := range ps {
		ps[i] = pairs.Pair{Src: netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)}), 0),
			Dst: netip.MustParseAddrPort("[2001:db8:ff::1]:443"), Interface: "eth" + string(rune('0'+i))}
	}
	return ps
}

// joinCase is a race whose pairs arrive over time.
type joinCase struct {
	name     string
	first    []pairs.Pair
	arrivals []arrival
	doneAt   time.Duration
	steps    map[netip.Addr]step
	fallback time.Duration // PairDialer.FallbackDelay
	winner   netip.Addr    // invalid: none
	starts   map[netip.Addr]time.Duration
	elapsed  time.Duration
}

func TestRaceJoins(t *testing.T) {
	v4, v6 := testPairs(2), v6Pairs(2)
	cases := []joinCase{
		{
			name:  "AAAA late, IPv4 stalled: IPv6 starts when it arrives",
			first: v4[:1], arrivals: []arrival{{300 * time.Millisecond, v6}},
			steps:  map[netip.Addr]step{v4[0].Src.Addr(): {hang: true}, v6[0].Src.Addr(): {after: 20 * time.Millisecond}, v6[1].Src.Addr(): {hang: true}},
			winner: v6[0].Src.Addr(),
			starts: map[netip.Addr]time.Duration{v4[0].Src.Addr(): 0, v6[0].Src.Addr(): 300 * time.Millisecond},
			// 300 + 20
			elapsed: 320 * time.Millisecond,
		},
		{
			name:  "pairs arriving before the delay wait for it",
			first: v4[:1], arrivals: []arrival{{100 * time.Millisecond, v6[:1]}},
			steps:   map[netip.Addr]step{v4[0].Src.Addr(): {hang: true}, v6[0].Src.Addr(): {after: 20 * time.Millisecond}},
			winner:  v6[0].Src.Addr(),
			starts:  map[netip.Addr]time.Duration{v4[0].Src.Addr(): 0, v6[0].Src.Addr(): 250 * time.Millisecond},
			elapsed: 270 * time.Millisecond,
		},
		{
			name:  "nothing running: a late pair starts at once",
			first: v4[:1], arrivals: []arrival{{100 * time.Millisecond, v6[:1]}},
			steps:   map[netip.Addr]step{v4[0].Src.Addr(): {after: 10 * time.Millisecond, err: errRefused}, v6[0].Src.Addr(): {after: 20 * time.Millisecond}},
			winner:  v6[0].Src.Addr(),
			starts:  map[netip.Addr]time.Duration{v4[0].Src.Addr(): 0, v6[0].Src.Addr(): 100 * time.Millisecond},
			elapsed: 120 * time.Millisecond,
		},
		{
			name:  "A late, AAAA stalled: the IPv4 pair still waits for FallbackDelay",
			first: v6[:1], arrivals: []arrival{{20 * time.Millisecond, v4[:1]}}, fallback: 600 * time.Millisecond,
			steps:   map[netip.Addr]step{v6[0].Src.Addr(): {hang: true}, v4[0].Src.Addr(): {after: 5 * time.Millisecond}},
			winner:  v4[0].Src.Addr(),
			starts:  map[netip.Addr]time.Duration{v6[0].Src.Addr(): 0, v4[0].Src.Addr(): 600 * time.Millisecond},
			elapsed: 605 * time.Millisecond,
		},
		{
			name:  "A late, AAAA stalled, FallbackDelay shorter than the attempt delay: IPv4 starts at FallbackDelay",
			first: v6[:1], arrivals: []arrival{{20 * time.Millisecond, v4[:1]}}, fallback: 100 * time.Millisecond,
			steps:   map[netip.Addr]step{v6[0].Src.Addr(): {hang: true}, v4[0].Src.Addr(): {after: 5 * time.Millisecond}},
			winner:  v4[0].Src.Addr(),
			starts:  map[netip.Addr]time.Duration{v6[0].Src.Addr(): 0, v4[0].Src.Addr(): 100 * time.Millisecond},
			elapsed: 105 * time.Millisecond,
		},
		{
			name:  "A later than a short FallbackDelay: IPv4 starts when it arrives",
			first: v6[:1], arrivals: []arrival{{150 * time.Millisecond, v4[:1]}}, fallback: 100 * time.Millisecond,
			steps:   map[netip.Addr]step{v6[0].Src.Addr(): {hang: true}, v4[0].Src.Addr(): {after: 5 * time.Millisecond}},
			winner:  v4[0].Src.Addr(),
			starts:  map[netip.Addr]time.Duration{v6[0].Src.Addr(): 0, v4[0].Src.Addr(): 150 * time.Millisecond},
			elapsed: 155 * time.Millisecond,
		},
		{
			name:  "the queue ends without more pairs: the race ends then",
			first: v4[:1], doneAt: 50 * time.Millisecond,
			steps:   map[netip.Addr]step{v4[0].Src.Addr(): {after: 10 * time.Millisecond, err: errRefused}},
			starts:  map[netip.Addr]time.Duration{v4[0].Src.Addr(): 0},
			elapsed: 50 * time.Millisecond,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeNet(tc.steps)
				q := newScriptedQueue(tc.first, tc.arrivals, tc.doneAt)
				r := f.newRace(nil, 0)
				r.queue, r.fallback = q, tc.fallback
				t0 := time.Now()
				c, err := r.run(t.Context())
				if got := time.Since(t0); got != tc.elapsed {
					t.Errorf("run returned after %v, want %v", got, tc.elapsed)
				}
				synctest.Wait()
				switch {
				case !tc.winner.IsValid() && err == nil:
					t.Errorf("connected from %v, want no winner", c.(*fakeConn).src)
				case tc.winner.IsValid() && (err != nil || c.(*fakeConn).src != tc.winner):
					t.Errorf("run = %v, %v; want a connection from %v", c, err, tc.winner)
				}
				starts := f.startTimes()
				if len(starts) != len(tc.starts) {
					t.Errorf("starts %v, want %v", starts, tc.starts)
				}
				for src, want := range tc.starts {
					if got, ok := starts[src]; !ok || got != want {
						t.Errorf("attempt from %v started at %v (%v), want %v", src, got, ok, want)
					}
				}
			})
		})
	}
}

// TestRaceHandshakeFallbackDelay: a connect that completes re-arms the timer
// for its handshake, but the first attempt of the other family still waits
// for FallbackDelay.
func TestRaceHandshakeFallbackDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := mixedPairs()[:2] // IPv6, IPv4
		f := newFakeNet(stepsBySource(ps, []step{{after: 20 * time.Millisecond}, {after: 5 * time.Millisecond}}))
		r := f.newRace(ps, 0)
		r.fallback = 600 * time.Millisecond
		r.handshake = fakeHandshakes(f, map[netip.Addr]hsStep{ps[0].Src.Addr(): {hang: true}, ps[1].Src.Addr(): {after: 5 * time.Millisecond}})
		c, err := r.run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		synctest.Wait()
		if got := f.startTimes()[ps[1].Src.Addr()]; got != 600*time.Millisecond {
			t.Errorf("IPv4 attempt started at %v, want at FallbackDelay (600ms)", got)
		}
	})
}

// hsStep scripts a fake handshake, like step does a connect.
type hsStep = step

// fakeHandshakes plays handshake steps keyed by the pair's source.
func fakeHandshakes(f *fakeNet, steps map[netip.Addr]hsStep) handshakeFunc {
	return func(ctx context.Context, p pairs.Pair, c net.Conn, begin func()) (net.Conn, time.Duration, error) {
		begin()
		s := steps[p.Src.Addr()]
		if err := f.wait(ctx, s); err != nil {
			return nil, 0, err
		}
		if s.err != nil {
			return nil, 0, s.err
		}
		return c, 0, nil
	}
}

var errCert = &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}

// TestRaceHandshake: success is the handshake. A connect that completed sets
// the timer to the handshake's expected time; a failed handshake frees the
// turn; what each handshake proved goes to probe.
func TestRaceHandshake(t *testing.T) {
	ps := testPairs(2)
	a, b := ps[0].Src.Addr(), ps[1].Src.Addr()
	ms := time.Millisecond
	for _, tc := range []struct {
		name          string
		connect, hs   map[netip.Addr]step
		winner        netip.Addr
		startB        time.Duration
		elapsed       time.Duration
		outcomes      map[netip.Addr][]probe.Result
		wantCertError bool
	}{
		{
			name:    "silent middlebox on the first pair",
			connect: map[netip.Addr]step{a: {after: 20 * ms}, b: {after: 60 * ms}},
			hs:      map[netip.Addr]step{a: {hang: true}, b: {after: 60 * ms}},
			winner:  b,
			// a's connect at 20 ms, then 2 × 20 ms floored at 100 ms for its
			// handshake: b starts at 120 ms, connects at 180, done at 240.
			startB:  120 * ms,
			elapsed: 240 * ms,
			outcomes: map[netip.Addr][]probe.Result{
				a: {probe.Success, probe.Middlebox}, // waited 220 ms ≥ 3 × 20 + 100
				b: {probe.Success, probe.TLSSuccess},
			},
		},
		{
			name:    "middlebox resets after the ClientHello: the next starts at once",
			connect: map[netip.Addr]step{a: {after: 20 * ms}, b: {after: 60 * ms}},
			hs:      map[netip.Addr]step{a: {after: 10 * ms, err: syscall.ECONNRESET}, b: {after: 60 * ms}},
			winner:  b, startB: 30 * ms, elapsed: 150 * ms,
			outcomes: map[netip.Addr][]probe.Result{
				a: {probe.Success, probe.Middlebox},
				b: {probe.Success, probe.TLSSuccess},
			},
		},
		{
			name:    "a slow handshake cut short is no evidence",
			connect: map[netip.Addr]step{a: {after: 20 * ms}, b: {after: 5 * ms}},
			hs:      map[netip.Addr]step{a: {after: 500 * ms}, b: {after: 5 * ms}},
			winner:  b, startB: 120 * ms, elapsed: 130 * ms,
			outcomes: map[netip.Addr][]probe.Result{
				a: {probe.Success}, // waited 110 ms < 160 ms: canceled, not reported
				b: {probe.Success, probe.TLSSuccess},
			},
		},
		{
			name:    "certificate errors everywhere: no evidence against the paths",
			connect: map[netip.Addr]step{a: {after: 20 * ms}, b: {after: 60 * ms}},
			hs:      map[netip.Addr]step{a: {after: 20 * ms, err: errCert}, b: {after: 60 * ms, err: errCert}},
			startB:  40 * ms, elapsed: 160 * ms,
			outcomes: map[netip.Addr][]probe.Result{
				a: {probe.Success},
				b: {probe.Success},
			},
			wantCertError: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeNet(tc.connect)
				r := f.newRace(ps, 0)
				r.handshake = fakeHandshakes(f, tc.hs)
				t0 := time.Now()
				c, err := r.run(t.Context())
				if got := time.Since(t0); got != tc.elapsed {
					t.Errorf("run returned after %v, want %v", got, tc.elapsed)
				}
				synctest.Wait()
				if tc.winner.IsValid() && (err != nil || c.(*fakeConn).src != tc.winner) {
					t.Fatalf("run = %v, %v; want a connection from %v", c, err, tc.winner)
				}
				if tc.wantCertError {
					if err == nil || !errors.Is(tlsError(err), errCert) || tlsError(err) != error(errCert) {
						t.Errorf("error %v; want the certificate error itself from tlsError", err)
					}
				}
				if got := f.startTimes()[b]; got != tc.startB {
					t.Errorf("second attempt started at %v, want %v", got, tc.startB)
				}
				got := map[netip.Addr][]probe.Result{}
				for _, o := range f.outcomes {
					got[o.Src.Addr()] = append(got[o.Src.Addr()], o.Result)
				}
				for src, want := range tc.outcomes {
					if !equalResults(got[src], want) {
						t.Errorf("outcomes of %v: %v, want %v", src, got[src], want)
					}
				}
				for _, fc := range f.conns {
					if fc.src != tc.winner && !fc.closed.Load() {
						t.Errorf("connection from %v left open", fc.src)
					}
				}
			})
		})
	}
}

func equalResults(a, b []probe.Result) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRaceHandshakeCutByDeadline: a handshake the dial's deadline cuts short
// is no middlebox evidence unless it went unanswered for longer than one over
// the path takes (probe.TLSOverdue: 3 × the 20 ms connect + 100 ms).
func TestRaceHandshakeCutByDeadline(t *testing.T) {
	for _, tc := range []struct {
		timeout time.Duration
		want    probe.Result // the last report: the connect's success, or the handshake's verdict
	}{
		{100 * time.Millisecond, probe.Success},   // 80 ms without an answer: nothing proved
		{400 * time.Millisecond, probe.Middlebox}, // 380 ms: overdue
	} {
		synctest.Test(t, func(t *testing.T) {
			ps := testPairs(1)
			f := newFakeNet(stepsBySource(ps, []step{{after: 20 * time.Millisecond}}))
			r := f.newRace(ps, 0)
			r.handshake = fakeHandshakes(f, map[netip.Addr]hsStep{ps[0].Src.Addr(): {hang: true}})
			ctx, cancel := context.WithTimeout(t.Context(), tc.timeout)
			defer cancel()
			if c, err := r.run(ctx); err == nil {
				c.Close()
				t.Fatal("the hanging handshake succeeded")
			}
			synctest.Wait()
			if got := f.results()[ps[0].Src.Addr()]; got != tc.want {
				t.Errorf("deadline %v: reported %v, want %v", tc.timeout, got, tc.want)
			}
		})
	}
}

// TestOutcomeExcludesServiceWait: the time a handshake step waited for its
// HTTPS answer (ECH) before the ClientHello is not handshake time: a loser
// that waited 290 ms for the answer and then 10 ms for the server is not
// overdue.
func TestOutcomeExcludesServiceWait(t *testing.T) {
	r := &race{result: probe.ResultOf}
	ms := time.Millisecond
	res := attemptResult{start: time.Now(), connect: 20 * ms, waited: 290 * ms, dur: 320 * ms, err: context.Canceled, cut: true}
	o := r.outcome(testPairs(1)[0], res, lost)
	if o.Result != probe.Canceled || o.Duration != 10*ms {
		t.Errorf("outcome %v after %v; want canceled after 10ms (the handshake's own time)", o.Result, o.Duration)
	}
}

// TestRaceHeldWhileHandshakeWaits: with ECH (PairDialer.ECH), an attempt whose
// TCP connect is done waits for the HTTPS answer before its ClientHello
// (HEv3: an SVCB-reliant client MUST wait for SVCB before the handshake).
// That wait is the same for every attempt: it is not a path that stalls.
// Here the HTTPS answer comes at 500 ms, every connect takes 5 ms and every
// handshake 5 ms once the answer is in. The first attempt is established at
// 510 ms; the race should not have opened a connection over every other
// pair meanwhile, each one waiting for the same DNS answer (it started all
// four, at 0, 105, 210 and 315 ms, when the timer ran down the handshake's
// expected time from the connect, not from when the handshake could begin).
func TestRaceHeldWhileHandshakeWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := testPairs(4)
		steps := map[netip.Addr]step{}
		for _, p := range ps {
			steps[p.Src.Addr()] = step{after: 5 * time.Millisecond}
		}
		f := newFakeNet(steps)
		svc := make(chan struct{})
		time.AfterFunc(500*time.Millisecond, func() { close(svc) })
		r := f.newRace(ps, 0)
		// As d.handshaker with d.ECH: wait for the Stream's Service (the
		// HTTPS answer), then a 5 ms handshake.
		r.handshake = func(ctx context.Context, p pairs.Pair, c net.Conn, begin func()) (net.Conn, time.Duration, error) {
			start := time.Now()
			select {
			case <-svc:
			case <-ctx.Done():
				return nil, time.Since(start), ctx.Err()
			}
			waited := time.Since(start)
			begin()
			if err := f.wait(ctx, step{after: 5 * time.Millisecond}); err != nil {
				return nil, waited, err
			}
			return c, waited, nil
		}
		conn, err := r.run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		synctest.Wait()
		if n := len(f.startTimes()); n != 1 {
			t.Errorf("%d attempts started (at %v) while the first one only waited for the HTTPS answer; want that one", n, f.startTimes())
		}
	})
}

// TestRaceJoinWhileHandshakeWaits: an ECH TLS dial (PairDialer.ECH) whose
// first attempt's TCP connect is done and whose ClientHello waits for the
// HTTPS answer (Stream.Service). Meanwhile the A answer adds an IPv4 pair
// (50 ms). The HTTPS answer comes at 100 ms; a pairs.Stream signals Changed
// for it and only then lets Service return (lookupHTTPS closes changed and
// svcDone under st.mu, which Service needs), so the race sees the change
// before the handshake begins. The handshake then hangs: a TCP-terminating
// middlebox, the case TLS-as-success exists for (HEV3.md "Success").
//
// The IPv4 pair should start about one handshake delay after the handshake
// began (HEV3.md phase 4/"Answers that change mid-setup": new endpoints are
// placed as if there from the start, attempts staggered by the Connection
// Attempt Delay, at most 2 s). It once never started: joined found the
// attempt waiting and armed nothing without holding, and progress re-arms
// only a timer that was armed or held, so the dial sat until its deadline.
func TestRaceJoinWhileHandshakeWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := mixedPairs()[:2] // IPv6, IPv4
		f := newFakeNet(stepsBySource(ps, []step{{after: 5 * time.Millisecond}, {after: 5 * time.Millisecond}}))
		q := newScriptedQueue(ps[:1], []arrival{{50 * time.Millisecond, ps[1:]}}, time.Hour)
		svc := make(chan struct{})
		time.AfterFunc(100*time.Millisecond, func() {
			q.add(nil, true) // the HTTPS answer: no records, every lookup ended
			synctest.Wait()  // the racer has seen the change
			close(svc)       // then Service returns
		})
		r := f.newRace(nil, 0)
		r.queue = q
		v6 := ps[0].Src.Addr()
		r.handshake = func(ctx context.Context, p pairs.Pair, c net.Conn, begin func()) (net.Conn, time.Duration, error) {
			start := time.Now()
			select {
			case <-svc:
			case <-ctx.Done():
				return nil, time.Since(start), ctx.Err()
			}
			waited := time.Since(start)
			begin()
			s := step{after: 5 * time.Millisecond}
			if p.Src.Addr() == v6 {
				s = step{hang: true} // no answer to the ClientHello
			}
			if err := f.wait(ctx, s); err != nil {
				return nil, waited, err
			}
			return c, waited, nil
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		t0 := time.Now()
		c, err := r.run(ctx)
		if c != nil {
			c.Close()
		}
		synctest.Wait()
		got, ok := f.startTimes()[ps[1].Src.Addr()]
		if !ok || got > 100*time.Millisecond+2*time.Second {
			t.Errorf("IPv4 pair (joined at 50 ms) started: %v at %v; dial ended after %v with %v; want it started within the 2 s Maximum Connection Attempt Delay after the stalled handshake began (100 ms)",
				ok, got, time.Since(t0), err)
		}
	})
}

// TestRaceSerialHandshake: a negative AttemptDelay makes attempts
// serial ("the next starts only when the previous one has failed"). With a
// handshake (DialTLSContext), an attempt whose connect completed must not
// start the next one while its handshake runs.
func TestRaceSerialHandshake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := testPairs(2)
		a, b := ps[0].Src.Addr(), ps[1].Src.Addr()
		f := newFakeNet(map[netip.Addr]step{a: {after: 20 * time.Millisecond}, b: {after: 5 * time.Millisecond}})
		r := f.newRace(ps, -1)
		r.handshake = fakeHandshakes(f, map[netip.Addr]hsStep{a: {after: 500 * time.Millisecond}, b: {after: 5 * time.Millisecond}})
		c, err := r.run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		synctest.Wait()
		if got, ok := f.startTimes()[b]; ok {
			t.Errorf("serial race started the second attempt at %v while the first one's handshake was running (won by %v)", got, c.(*fakeConn).src)
		}
	})
}
