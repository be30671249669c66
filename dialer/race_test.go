package dialer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

const never = -1 // raceCase.winner when every attempt fails

// raceCase is one scripted race: what each pair's attempt does and what the race
// must make of it. Times are the synctest bubble's, from the start of the race.
type raceCase struct {
	name     string
	pairs    []pairs.Pair // nil: testPairs(len(steps))
	steps    []step       // by pair index
	delay    time.Duration
	fallback time.Duration // PairDialer.FallbackDelay
	timeout  time.Duration // the dial's deadline; 0: none
	cancelAt time.Duration // when the caller cancels; 0: never
	winner   int           // pair index, or never
	starts   []time.Duration
	results  []probe.Result // what probe is told, per started attempt
	closed   []int          // pairs whose connection the race must close
	elapsed  time.Duration  // when run returns
}

// mixedPairs are an IPv6, an IPv4 and an IPv6 pair, in that (racing) order.
func mixedPairs() []pairs.Pair {
	v6 := func(i byte) pairs.Pair {
		return pairs.Pair{Src: netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: i}), 0),
			Dst: netip.MustParseAddrPort("[2001:db8:ff::1]:80")}
	}
	return []pairs.Pair{v6(1), testPairs(2)[1], v6(3)}
}

// nat64Pair is an IPv6 pair to 192.0.2.1 through a NAT64 (64:ff9b::/96).
func nat64Pair() pairs.Pair {
	return pairs.Pair{Src: netip.MustParseAddrPort("[2001:db8::2]:0"),
		Dst: netip.MustParseAddrPort("[64:ff9b::c000:201]:80"), Synthesized: netip.MustParseAddr("192.0.2.1")}
}

var raceCases = []raceCase{
	{
		name:     "FallbackDelay holds the first attempt of the other family",
		pairs:    mixedPairs(),
		steps:    []step{{hang: true}, {hang: true}, {after: 40 * time.Millisecond}},
		fallback: 300 * time.Millisecond,
		winner:   2,
		starts:   []time.Duration{0, 300 * time.Millisecond, 550 * time.Millisecond},
		results:  []probe.Result{probe.Superseded, probe.Superseded, probe.Success},
		elapsed:  590 * time.Millisecond,
	},
	{
		name:     "FallbackDelay does not hold after a failure",
		pairs:    mixedPairs(),
		steps:    []step{{after: 20 * time.Millisecond, err: errRefused}, {after: 40 * time.Millisecond}, {hang: true}},
		fallback: 300 * time.Millisecond,
		winner:   1,
		starts:   []time.Duration{0, 20 * time.Millisecond},
		results:  []probe.Result{probe.Refused, probe.Success},
		elapsed:  60 * time.Millisecond,
	},
	{
		name:     "FallbackDelay holds after a failure while an earlier attempt runs",
		pairs:    []pairs.Pair{mixedPairs()[0], mixedPairs()[2], mixedPairs()[1]},
		steps:    []step{{hang: true}, {after: 10 * time.Millisecond, err: errRefused}, {after: 5 * time.Millisecond}},
		fallback: 600 * time.Millisecond,
		winner:   2,
		starts:   []time.Duration{0, 250 * time.Millisecond, 600 * time.Millisecond},
		results:  []probe.Result{probe.Superseded, probe.Refused, probe.Success},
		elapsed:  605 * time.Millisecond,
	},
	{
		// As net.Dialer's: the fallback starts after FallbackDelay, not
		// after the longer attempt delay.
		name:     "FallbackDelay shorter than the attempt delay",
		pairs:    mixedPairs(),
		steps:    []step{{hang: true}, {after: 40 * time.Millisecond}, {hang: true}},
		fallback: 100 * time.Millisecond,
		winner:   1,
		starts:   []time.Duration{0, 100 * time.Millisecond},
		results:  []probe.Result{probe.Superseded, probe.Success},
		elapsed:  140 * time.Millisecond,
	},
	{
		name:     "FallbackDelay below MinAttemptDelay",
		pairs:    mixedPairs(),
		steps:    []step{{hang: true}, {after: 40 * time.Millisecond}, {hang: true}},
		fallback: time.Millisecond,
		winner:   1,
		starts:   []time.Duration{0, MinAttemptDelay},
		results:  []probe.Result{probe.Superseded, probe.Success},
		elapsed:  MinAttemptDelay + 40*time.Millisecond,
	},
	{
		// Only the first pair of the other family: the pairs after it
		// keep the attempt delay.
		name:     "a short FallbackDelay moves the first fallback only",
		pairs:    mixedPairs(),
		steps:    []step{{hang: true}, {hang: true}, {after: 40 * time.Millisecond}},
		fallback: 100 * time.Millisecond,
		winner:   2,
		starts:   []time.Duration{0, 100 * time.Millisecond, 350 * time.Millisecond},
		results:  []probe.Result{probe.Superseded, probe.Superseded, probe.Success},
		elapsed:  390 * time.Millisecond,
	},
	{
		// A pair through a NAT64 is of the IPv4 family (pairs.Order): on
		// an IPv6-only host it is the fallback FallbackDelay starts.
		name:     "FallbackDelay starts the pair through a NAT64",
		pairs:    []pairs.Pair{mixedPairs()[0], nat64Pair(), mixedPairs()[2]},
		steps:    []step{{hang: true}, {after: 40 * time.Millisecond}, {hang: true}},
		fallback: 100 * time.Millisecond,
		winner:   1,
		starts:   []time.Duration{0, 100 * time.Millisecond},
		results:  []probe.Result{probe.Superseded, probe.Success},
		elapsed:  140 * time.Millisecond,
	},
	{
		name:    "one pair connects",
		steps:   []step{{after: 30 * time.Millisecond}},
		winner:  0,
		starts:  []time.Duration{0},
		results: []probe.Result{probe.Success},
		elapsed: 30 * time.Millisecond,
	},
	{
		name:    "one pair refused",
		steps:   []step{{after: 30 * time.Millisecond, err: errRefused}},
		winner:  never,
		starts:  []time.Duration{0},
		results: []probe.Result{probe.Refused},
		elapsed: 30 * time.Millisecond,
	},
	{
		name:    "one pair times out",
		steps:   []step{{hang: true}},
		timeout: 3 * time.Second,
		winner:  never,
		starts:  []time.Duration{0},
		results: []probe.Result{probe.Superseded}, // the Store counts 3 s unanswered as a timeout (past the RTO)
		elapsed: 3 * time.Second,
	},
	{
		name:    "first wins alone",
		steps:   []step{{after: 30 * time.Millisecond}, {hang: true}},
		winner:  0,
		starts:  []time.Duration{0},
		results: []probe.Result{probe.Success},
		elapsed: 30 * time.Millisecond,
	},
	{
		name:    "stagger at the default delay",
		steps:   []step{{hang: true}, {hang: true}, {after: 40 * time.Millisecond}},
		winner:  2,
		starts:  []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond},
		results: []probe.Result{probe.Superseded, probe.Superseded, probe.Success},
		elapsed: 540 * time.Millisecond,
	},
	{
		name:    "losers are reported superseded, overdue or not (the Store decides)",
		steps:   []step{{hang: true}, {hang: true}, {hang: true}, {hang: true}, {hang: true}, {after: 10 * time.Millisecond}},
		winner:  5,
		starts:  []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second, 1250 * time.Millisecond},
		results: []probe.Result{probe.Superseded, probe.Superseded, probe.Superseded, probe.Superseded, probe.Superseded, probe.Success},
		elapsed: 1260 * time.Millisecond,
	},
	{
		name:    "fast failure starts the next at once",
		steps:   []step{{after: 30 * time.Millisecond, err: errRefused}, {after: 100 * time.Millisecond, err: errUnreachable}, {after: 20 * time.Millisecond}},
		winner:  2,
		starts:  []time.Duration{0, 30 * time.Millisecond, 130 * time.Millisecond},
		results: []probe.Result{probe.Refused, probe.Unreachable, probe.Success},
		elapsed: 150 * time.Millisecond,
	},
	{
		name:    "delay restarts after an early start",
		steps:   []step{{after: 30 * time.Millisecond, err: errRefused}, {hang: true}, {after: 10 * time.Millisecond}},
		winner:  2,
		starts:  []time.Duration{0, 30 * time.Millisecond, 280 * time.Millisecond},
		results: []probe.Result{probe.Refused, probe.Superseded, probe.Success},
		elapsed: 290 * time.Millisecond,
	},
	{
		name:    "late winner is closed",
		steps:   []step{{after: 300 * time.Millisecond, stubborn: true}, {after: 10 * time.Millisecond}},
		winner:  1,
		starts:  []time.Duration{0, 250 * time.Millisecond},
		results: []probe.Result{probe.Success, probe.Success},
		closed:  []int{0},
		elapsed: 300 * time.Millisecond,
	},
	{
		name:    "configured delay",
		steps:   []step{{hang: true}, {after: 5 * time.Millisecond}},
		delay:   50 * time.Millisecond,
		winner:  1,
		starts:  []time.Duration{0, 50 * time.Millisecond},
		results: []probe.Result{probe.Superseded, probe.Success},
		elapsed: 55 * time.Millisecond,
	},
	{
		name:    "configured delay floored at 10ms",
		steps:   []step{{hang: true}, {after: 5 * time.Millisecond}},
		delay:   time.Millisecond,
		winner:  1,
		starts:  []time.Duration{0, 10 * time.Millisecond},
		results: []probe.Result{probe.Superseded, probe.Success},
		elapsed: 15 * time.Millisecond,
	},
	{
		name:    "measured fast pair clamps to 100ms",
		pairs:   measured(testPairs(2), 20*time.Millisecond, 5*time.Millisecond),
		steps:   []step{{hang: true}, {after: 5 * time.Millisecond}},
		winner:  1,
		starts:  []time.Duration{0, 100 * time.Millisecond},
		results: []probe.Result{probe.Superseded, probe.Success}, // the Store finds it overdue (its RTO passed)
		elapsed: 105 * time.Millisecond,
	},
	{
		name:    "measured pair adapts",
		pairs:   measured(testPairs(2), 300*time.Millisecond, 50*time.Millisecond),
		steps:   []step{{hang: true}, {after: 5 * time.Millisecond}},
		winner:  1,
		starts:  []time.Duration{0, 500 * time.Millisecond},
		results: []probe.Result{probe.Superseded, probe.Success}, // the Store finds it overdue (its RTO passed)
		elapsed: 505 * time.Millisecond,
	},
	{
		name:    "measured slow pair clamps to 2s",
		pairs:   measured(testPairs(2), 1500*time.Millisecond, 400*time.Millisecond),
		steps:   []step{{hang: true}, {after: 5 * time.Millisecond}},
		winner:  1,
		starts:  []time.Duration{0, 2 * time.Second},
		results: []probe.Result{probe.Superseded, probe.Success}, // the Store finds it overdue (its RTO passed)
		elapsed: 2005 * time.Millisecond,
	},
	{
		name:    "serial waits for each failure",
		steps:   []step{{after: 600 * time.Millisecond, err: errRefused}, {after: 700 * time.Millisecond, err: errUnreachable}, {after: 10 * time.Millisecond}},
		delay:   -1,
		winner:  2,
		starts:  []time.Duration{0, 600 * time.Millisecond, 1300 * time.Millisecond},
		results: []probe.Result{probe.Refused, probe.Unreachable, probe.Success},
		elapsed: 1310 * time.Millisecond,
	},
	{
		name:    "serial shares the deadline",
		steps:   []step{{hang: true}, {hang: true}, {after: 10 * time.Millisecond}},
		delay:   -1,
		timeout: 9 * time.Second,
		winner:  2,
		starts:  []time.Duration{0, 3 * time.Second, 6 * time.Second},
		results: []probe.Result{probe.Superseded, probe.Superseded, probe.Success}, // each share ran out: the Store weighs the wait
		elapsed: 6010 * time.Millisecond,
	},
	{
		name:    "deadline ends the race",
		steps:   []step{{hang: true}, {hang: true}, {hang: true}},
		timeout: 400 * time.Millisecond,
		winner:  never,
		starts:  []time.Duration{0, 250 * time.Millisecond},
		results: []probe.Result{probe.Superseded, probe.Superseded}, // 400 ms and 150 ms: too short to blame the paths
		elapsed: 400 * time.Millisecond,
	},
	{
		name:     "caller cancels",
		steps:    []step{{hang: true}, {hang: true}},
		cancelAt: 100 * time.Millisecond,
		winner:   never,
		starts:   []time.Duration{0},
		results:  []probe.Result{probe.Canceled},
		elapsed:  100 * time.Millisecond,
	},
	{
		name:    "all fail",
		steps:   []step{{after: 10 * time.Millisecond, err: errRefused}, {after: 20 * time.Millisecond, err: errUnreachable}},
		winner:  never,
		starts:  []time.Duration{0, 10 * time.Millisecond},
		results: []probe.Result{probe.Refused, probe.Unreachable},
		elapsed: 30 * time.Millisecond,
	},
}

func TestRace(t *testing.T) {
	for _, tc := range raceCases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { tc.check(t) })
		})
	}
}

// check runs the case in the current bubble and compares what happened.
func (tc raceCase) check(t *testing.T) {
	ps := tc.pairs
	if ps == nil {
		ps = testPairs(len(tc.steps))
	}
	f := newFakeNet(stepsBySource(ps, tc.steps))
	ctx, cancel := tc.context(t)
	defer cancel()
	t0 := time.Now()
	r := f.newRace(ps, tc.delay)
	r.fallback = tc.fallback
	c, err := r.run(ctx)
	if got := time.Since(t0); got != tc.elapsed {
		t.Errorf("run returned after %v, want %v", got, tc.elapsed)
	}
	synctest.Wait()
	tc.checkWinner(t, ps, c, err)
	starts, results := f.startTimes(), f.results()
	if len(starts) != len(tc.starts) || len(results) != len(tc.results) {
		t.Fatalf("%d attempts started, %d reported; want %d and %d", len(starts), len(results), len(tc.starts), len(tc.results))
	}
	for i, want := range tc.starts {
		if got := starts[ps[i].Src.Addr()]; got != want {
			t.Errorf("attempt %d started at %v, want %v", i, got, want)
		}
		if got := results[ps[i].Src.Addr()]; got != tc.results[i] {
			t.Errorf("attempt %d reported %v, want %v", i, got, tc.results[i])
		}
	}
	for _, fc := range f.conns {
		wantClosed := slices.ContainsFunc(tc.closed, func(i int) bool { return ps[i].Src.Addr() == fc.src })
		if fc.closed.Load() != wantClosed {
			t.Errorf("connection from %v closed = %v, want %v", fc.src, fc.closed.Load(), wantClosed)
		}
	}
}

// context returns the dial's context: with the case's deadline, canceled at
// cancelAt by a goroutine that the returned cancel func stops.
func (tc raceCase) context(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	if tc.timeout > 0 {
		ctx, cancel = context.WithTimeout(t.Context(), tc.timeout)
	}
	if tc.cancelAt > 0 {
		stop := time.AfterFunc(tc.cancelAt, cancel)
		return ctx, func() { stop.Stop(); cancel() }
	}
	return ctx, cancel
}

func (tc raceCase) checkWinner(t *testing.T, ps []pairs.Pair, c net.Conn, err error) {
	t.Helper()
	if tc.winner == never {
		var ae *AttemptsError
		if c != nil || !errors.As(err, &ae) {
			t.Fatalf("run = %v, %v; want no connection and an *AttemptsError", c, err)
		}
		if len(ae.Attempts)+ae.Untried != len(ps) {
			t.Errorf("%d attempts + %d untried, want %d pairs", len(ae.Attempts), ae.Untried, len(ps))
		}
		return
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	fc := c.(*fakeConn)
	if fc.src != ps[tc.winner].Src.Addr() || fc.closed.Load() {
		t.Errorf("winner from %v (closed %v), want an open connection from %v", fc.src, fc.closed.Load(), ps[tc.winner].Src.Addr())
	}
}

func stepsBySource(ps []pairs.Pair, steps []step) map[netip.Addr]step {
	m := make(map[netip.Addr]step, len(steps))
	for i, s := range steps {
		m[ps[i].Src.Addr()] = s
	}
	return m
}

// measured marks the first pair's latency as measured.
func measured(ps []pairs.Pair, srtt, rttvar time.Duration) []pairs.Pair {
	ps[0].Basis, ps[0].Latency, ps[0].RTTVar = pairs.Measured, srtt, rttvar
	return ps
}

func TestRaceErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := testPairs(3)
		f := newFakeNet(stepsBySource(ps, []step{
			{after: 10 * time.Millisecond, err: errRefused},
			{after: 20 * time.Millisecond, err: errUnreachable},
			{hang: true},
		}))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := f.newRace(ps, 0).run(ctx)
		const want = "3 attempts failed: " +
			"192.0.2.1->198.51.100.1:80 via eth0 after 10ms: connect: connection refused; " +
			"192.0.2.2->198.51.100.1:80 via eth1 after 20ms: connect: no route to host; " +
			"192.0.2.3->198.51.100.1:80 via eth2 after 970ms: context deadline exceeded"
		if err == nil || err.Error() != want {
			t.Fatalf("error\n got %v\nwant %s", err, want)
		}
		for _, target := range []error{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, context.DeadlineExceeded} {
			if !errors.Is(err, target) {
				t.Errorf("errors.Is(err, %v) = false", target)
			}
		}
		if errors.Is(err, context.Canceled) {
			t.Error("errors.Is(err, context.Canceled) = true, want false")
		}
		if te, ok := err.(interface{ Timeout() bool }); !ok || !te.Timeout() {
			t.Errorf("error is not a timeout: %#v", err)
		}
	})
}

func TestRaceOutcomes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := testPairs(2)
		f := newFakeNet(stepsBySource(ps, []step{{hang: true}, {after: 70 * time.Millisecond}}))
		t0 := time.Now()
		c, err := f.newRace(ps, 0).run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		want := []probe.Outcome{
			{Path: ps[1].Path(), Result: probe.Success, Start: t0.Add(250 * time.Millisecond).Round(0), Duration: 70 * time.Millisecond},
			{Path: ps[0].Path(), Result: probe.Superseded, Start: t0.Round(0), Duration: 320 * time.Millisecond},
		}
		got := f.outcomes
		for i := range got {
			got[i].Start = got[i].Start.Round(0) // no monotonic reading
		}
		if !slices.Equal(got, want) {
			t.Errorf("outcomes\n got %+v\nwant %+v", f.outcomes, want)
		}
	})
}

// TestRaceReportsNoLoopback checks that outcomes over loopback and Fallback
// pairs are not reported: probe keeps nothing of either.
func TestRaceReportsNoLoopback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := testPairs(3)
		ps[0].SrcClass = netstate.Loopback
		ps[1].Fallback = true
		f := newFakeNet(stepsBySource(ps, []step{{err: errRefused}, {err: errRefused}, {after: time.Millisecond}}))
		c, err := f.newRace(ps, 0).run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if len(f.outcomes) != 1 || f.outcomes[0].Path != ps[2].Path() {
			t.Errorf("outcomes %+v, want only the third pair's", f.outcomes)
		}
	})
}

func TestRaceStoppedByContext(t *testing.T) {
	tests := []struct {
		name     string
		ctx      func(context.Context) (context.Context, context.CancelFunc)
		want     string
		cause    error
		timeout  bool
		attempts int
	}{
		{
			name: "deadline passed before the first attempt",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithDeadline(ctx, time.Now().Add(-time.Second))
			},
			want:  "none of 2 pairs tried: context deadline exceeded",
			cause: context.DeadlineExceeded, timeout: true,
		},
		{
			name: "canceled during the first attempt",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				stop := time.AfterFunc(100*time.Millisecond, cancel)
				return ctx, func() { stop.Stop(); cancel() }
			},
			want: "1 attempt failed: 192.0.2.1->198.51.100.1:80 via eth0 after 100ms: context canceled; " +
				"1 more not tried: context canceled",
			cause: context.Canceled, attempts: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ps := testPairs(2)
				f := newFakeNet(stepsBySource(ps, []step{{hang: true}, {hang: true}}))
				ctx, cancel := tt.ctx(t.Context())
				defer cancel()
				_, err := f.newRace(ps, 0).run(ctx)
				var ae *AttemptsError
				if !errors.As(err, &ae) || err.Error() != tt.want {
					t.Fatalf("error\n got %v\nwant %s", err, tt.want)
				}
				if len(ae.Attempts) != tt.attempts || len(f.outcomes) != tt.attempts || ae.Cause != tt.cause {
					t.Errorf("%d attempts, %d outcomes, cause %v; want %d, %d, %v",
						len(ae.Attempts), len(f.outcomes), ae.Cause, tt.attempts, tt.attempts, tt.cause)
				}
				if !errors.Is(err, tt.cause) || ae.Timeout() != tt.timeout {
					t.Errorf("errors.Is(err, %v) = false or Timeout() = %v, want %v", tt.cause, ae.Timeout(), tt.timeout)
				}
			})
		})
	}
}

func TestRaceTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := testPairs(3)
		f := newFakeNet(stepsBySource(ps, []step{{after: 10 * time.Millisecond, err: errRefused}, {hang: true}, {after: 5 * time.Millisecond}}))
		var mu sync.Mutex
		var events []string
		tr := &Trace{
			AttemptStart: func(p pairs.Pair) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, "start "+p.Src.Addr().String())
			},
			AttemptDone: func(p pairs.Pair, d time.Duration, err error) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, fmt.Sprintf("done %v %v %v", p.Src.Addr(), d, err == nil))
			},
		}
		r := f.newRace(ps, 0)
		r.trace = tr
		c, err := r.run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		want := []string{
			"start 192.0.2.1", "done 192.0.2.1 10ms false",
			"start 192.0.2.2", "start 192.0.2.3",
			"done 192.0.2.3 5ms true", "done 192.0.2.2 255ms false",
		}
		if !slices.Equal(events, want) {
			t.Errorf("trace\n got %q\nwant %q", events, want)
		}
	})
}

func TestRaceLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := testPairs(3)
		f := newFakeNet(stepsBySource(ps, []step{{after: 10 * time.Millisecond, err: errRefused}, {hang: true}, {after: 5 * time.Millisecond}}))
		core, logs := observer.New(zap.DebugLevel)
		r := f.newRace(ps, 0)
		r.log = zap.New(core)
		c, err := r.run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		var got []string
		for _, e := range logs.All() {
			got = append(got, e.Message+" "+e.ContextMap()["src"].(string)+" "+e.ContextMap()["result"].(string))
		}
		want := []string{
			"attempt failed 192.0.2.1:0 refused",
			"attempt won 192.0.2.3:0 success",
			"attempt canceled 192.0.2.2:0 superseded",
		}
		if !slices.Equal(got, want) {
			t.Errorf("logs\n got %q\nwant %q", got, want)
		}
	})
}

// crowd plays a name with many addresses: the step of each destination it
// has one for, and a hang (a destination that drops SYNs) for the others. It
// records when each destination's attempt started and how many attempts were
// in flight at once, at most.
type crowd struct {
	fakeNet // for its report and wait
	steps   map[netip.AddrPort]step

	mu             sync.Mutex
	starts         map[netip.AddrPort]time.Duration
	inFlight, peak int
}

func newCrowd(steps map[netip.AddrPort]step) *crowd {
	return &crowd{fakeNet: fakeNet{t0: time.Now()}, steps: steps, starts: make(map[netip.AddrPort]time.Duration)}
}

func (c *crowd) dial(ctx context.Context, p pairs.Pair) (net.Conn, error) {
	c.mu.Lock()
	c.starts[p.Dst] = time.Since(c.t0)
	c.inFlight++
	c.peak = max(c.peak, c.inFlight)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inFlight--
		c.mu.Unlock()
	}()
	s, ok := c.steps[p.Dst]
	if !ok {
		s = step{hang: true}
	}
	if err := c.wait(ctx, s); err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp4", Source: p.LocalAddr("tcp"), Addr: p.RemoteAddr("tcp"), Err: err}
	}
	return &fakeConn{src: p.Src.Addr()}, nil
}

// TestRaceBoundsAttemptsInFlight races names with 500 addresses, most of which
// drop SYNs, under the kernel's connect timeout (127 s) as the dial's deadline:
// no more than maxInFlight attempts run at once, yet attempts keep starting at
// the attempt delay, or, once that many run, as the oldest reaches
// minGiveUpAge and is given up; no attempt is given up younger, so a slow
// path that works still wins.
func TestRaceBoundsAttemptsInFlight(t *testing.T) {
	const n = 500
	ps := manyPairs(n)
	tests := []struct {
		name    string
		delay   time.Duration
		steps   map[int]step // by pair index; the others hang
		winner  int          // pair index, or never
		last    int          // the pair whose start is checked
		start   time.Duration
		elapsed time.Duration
	}{
		{
			// The delay paces alone: the oldest of 16 is 4 s old.
			name: "all dead, default delay", winner: never,
			last: n - 1, start: (n - 1) * DefaultAttemptDelay, elapsed: 127 * time.Second,
		},
		{
			// 16 attempts every 2 s: pair 499 starts at 31·2 s + 3·10 ms.
			name: "all dead, MinAttemptDelay", delay: MinAttemptDelay, winner: never,
			last: n - 1, start: 62*time.Second + 30*time.Millisecond, elapsed: 127 * time.Second,
		},
		{
			name:  "pair 100 works, default delay",
			steps: map[int]step{100: {after: 45 * time.Millisecond}}, winner: 100,
			last: 100, start: 25 * time.Second, elapsed: 25*time.Second + 45*time.Millisecond,
		},
		{
			name: "pair 100 works, MinAttemptDelay", delay: MinAttemptDelay,
			steps: map[int]step{100: {after: 45 * time.Millisecond}}, winner: 100,
			last: 100, start: 12*time.Second + 40*time.Millisecond, elapsed: 12*time.Second + 85*time.Millisecond,
		},
		{
			// Pair 0 is the oldest of 16 from 160 ms on: it is not given up.
			name: "the first pair answers after 1.5 s", delay: MinAttemptDelay,
			steps: map[int]step{0: {after: 1500 * time.Millisecond}}, winner: 0,
			last: 15, start: 150 * time.Millisecond, elapsed: 1500 * time.Millisecond,
		},
		{
			// Pair 40 starts once pairs 16-39 have, and answers 1.5 s
			// later, as the oldest of 16.
			name: "pair 40 answers after 1.5 s", delay: MinAttemptDelay,
			steps: map[int]step{40: {after: 1500 * time.Millisecond}}, winner: 40,
			last: 40, start: 4*time.Second + 80*time.Millisecond, elapsed: 5*time.Second + 580*time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				steps := make(map[netip.AddrPort]step, len(tt.steps))
				for i, s := range tt.steps {
					steps[ps[i].Dst] = s
				}
				f := newCrowd(steps)
				r := &race{queue: &list{ps: ps}, dial: f.dial, report: f.report, result: probe.ResultOf,
					delay: tt.delay, log: zap.NewNop()}
				ctx, cancel := context.WithTimeout(t.Context(), 127*time.Second)
				defer cancel()
				c, err := r.run(ctx)
				elapsed := time.Since(f.t0)
				synctest.Wait()
				t.Logf("%d attempts started, at most %d in flight at once; run returned after %v", len(f.starts), f.peak, elapsed)
				if f.peak > maxInFlight {
					t.Errorf("%d attempts in flight at once, want at most %d", f.peak, maxInFlight)
				}
				if got, ok := f.starts[ps[tt.last].Dst]; !ok || got != tt.start {
					t.Errorf("pair %d started at %v (%v), want %v", tt.last, got, ok, tt.start)
				}
				if elapsed != tt.elapsed {
					t.Errorf("run returned after %v, want %v", elapsed, tt.elapsed)
				}
				given := checkGivenUp(t, f.outcomes, f.t0.Add(elapsed))
				t.Logf("%d attempts given up", given)
				if want := len(f.starts) - maxInFlight; given != want {
					t.Errorf("%d attempts given up, want %d (all but the last %d started)", given, want, maxInFlight)
				}
				if tt.winner != never {
					if err != nil {
						t.Fatalf("run: %v", err)
					}
					c.Close()
					i := slices.IndexFunc(f.outcomes, func(o probe.Outcome) bool { return o.Result == probe.Success })
					if i < 0 || f.outcomes[i].Dst != ps[tt.winner].Dst {
						t.Errorf("outcomes %+v, want pair %d's a success", f.outcomes, tt.winner)
					}
					return
				}
				checkGivenUpError(t, err, n)
			})
		})
	}
}

// checkGivenUp checks that every attempt canceled unanswered was reported
// superseded, as a loser is, and that those given up (canceled before run
// returned, at end) had run minGiveUpAge at least. It returns how many were.
func checkGivenUp(t *testing.T, outcomes []probe.Outcome, end time.Time) int {
	t.Helper()
	given := 0
	for _, o := range outcomes {
		switch {
		case o.Result == probe.Success:
		case o.Result != probe.Superseded:
			t.Errorf("an attempt to %v reported %v, want superseded", o.Dst, o.Result)
		case !o.Start.Add(o.Duration).Before(end):
			// Canceled by the winner or the deadline.
		case o.Duration < minGiveUpAge:
			t.Errorf("an attempt to %v given up after %v, before %v", o.Dst, o.Duration, minGiveUpAge)
		default:
			given++
		}
	}
	return given
}

// checkGivenUpError checks the error of a race over n dead pairs: every pair
// was tried, the error is a timeout, and it does not say that the caller
// canceled the dial.
func checkGivenUpError(t *testing.T, err error, n int) {
	t.Helper()
	var ae *AttemptsError
	if !errors.As(err, &ae) {
		t.Fatalf("run = %v, want an *AttemptsError", err)
	}
	given := 0
	for _, a := range ae.Attempts {
		if errors.As(a.Err, new(givenUpError)) {
			given++
		}
	}
	t.Logf("%d attempts given up, %d cut by the deadline; error text of %d bytes", given, len(ae.Attempts)-given, len(err.Error()))
	if len(ae.Attempts) != n || given != n-maxInFlight {
		t.Errorf("%d attempts, %d given up; want %d and %d", len(ae.Attempts), given, n, n-maxInFlight)
	}
	if !ae.Timeout() || errors.Is(err, context.Canceled) {
		t.Errorf("Timeout() = %v, errors.Is(err, context.Canceled) = %v; want true, false", ae.Timeout(), errors.Is(err, context.Canceled))
	}
}

// TestRaceKeepsAttemptInHandshake: when room must be made for the next
// attempt, one whose connect completed and whose TLS handshake runs (a long
// path: 3 s for the handshake's round trips) is further on than any attempt
// still connecting, which are given up first. Giving it up would leave a name
// with many addresses that drop SYNs without a connection at all.
func TestRaceKeepsAttemptInHandshake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ps := manyPairs(40)
		f := newCrowd(map[netip.AddrPort]step{ps[0].Dst: {after: 100 * time.Millisecond}})
		r := &race{queue: &list{ps: ps}, dial: f.dial, report: f.report, result: probe.ResultOf,
			delay: MinAttemptDelay, log: zap.NewNop()}
		r.handshake = func(ctx context.Context, p pairs.Pair, c net.Conn, begin func()) (net.Conn, time.Duration, error) {
			begin()
			if err := f.wait(ctx, step{after: 3 * time.Second}); err != nil {
				return nil, 0, err
			}
			return c, 0, nil
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		c, err := r.run(ctx)
		elapsed := time.Since(f.t0)
		synctest.Wait()
		if err != nil {
			t.Fatalf("run after %v: %v; want pair 0's connection once its handshake is done", elapsed, err)
		}
		c.Close()
		if want := 3*time.Second + 100*time.Millisecond; elapsed != want {
			t.Errorf("run returned after %v, want %v", elapsed, want)
		}
		if f.peak > maxInFlight {
			t.Errorf("%d attempts in flight at once, want at most %d", f.peak, maxInFlight)
		}
	})
}
