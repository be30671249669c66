package pairs

import (
	"context"
	"math"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// TestQuietSelector checks what the zero configuration sends: nothing before the
// program dials; for the addresses of a TCP destination it dials, one probe per
// candidate source on the dialed port after 2 s, but over the path it used;
// nothing for UDP destinations, lookups, or the addresses of a Get no connect
// followed; nothing for a destination with one candidate source; the gateways
// once the status is asked for.
func TestQuietSelector(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fd := &fakeDial{}
		w := netstate.NewStatic(homeSnapshot())
		defer w.Close()
		dns := fakeDNS{"server.test": {ip("2001:db8:2::1"), ip("2001:db8:4::1"), ip("198.51.100.1")},
			"dns.test": {ip("2001:db8:3::53")}, "get.test": {ip("2001:db8:5::1")}}
		s, err := New(WithWatcher(w), WithProbeDial(fd.dial), withLookup(dns.lookup))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		time.Sleep(time.Minute)
		if _, err := s.Attempts(ctx, Query{Network: "udp", Host: "dns.test", Port: 53}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LookupNetIP(ctx, "ip", "dns.test"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "get.test", 443); err != nil {
			t.Fatal(err)
		}
		ps, err := s.Attempts(ctx, Query{Network: "tcp", Host: "server.test", Port: 443})
		if err != nil {
			t.Fatal(err)
		}
		// The dialer's one attempt, over the first pair, connects.
		s.Report(probe.Outcome{Path: ps[0].Path(), Result: probe.Success, Start: time.Now(), Duration: 30 * time.Millisecond})
		time.Sleep(25 * time.Second)
		synctest.Wait()
		fd.mu.Lock()
		got := slices.Clone(fd.paths)
		fd.mu.Unlock()
		if ps[0].Path() != (probe.Path{Src: netip.MustParseAddrPort("[2001:db8:1::10]:0"), Dst: netip.MustParseAddrPort("[2001:db8:2::1]:443")}) {
			t.Fatalf("first pair %v", ps[0])
		}
		want := []probe.Path{ // the dialed name's IPv6 addresses from each source (the ULA: NPTv6 not tried yet), but the path the program used
			{Src: netip.MustParseAddrPort("[2001:db8:1::10]:0"), Dst: netip.MustParseAddrPort("[2001:db8:4::1]:443")},
			{Src: netip.MustParseAddrPort("[fd00:1::10]:0"), Dst: netip.MustParseAddrPort("[2001:db8:2::1]:443")},
			{Src: netip.MustParseAddrPort("[fd00:1::10]:0"), Dst: netip.MustParseAddrPort("[2001:db8:4::1]:443")},
		}
		slices.SortFunc(got, func(a, b probe.Path) int {
			if c := a.Src.Compare(b.Src); c != 0 {
				return c
			}
			return a.Dst.Compare(b.Dst)
		})
		if !slices.Equal(got, want) {
			t.Errorf("probes after one UDP dial, one lookup, one Get and one TCP dial: %v, want %v", got, want)
		}
		s.Status()
		time.Sleep(5 * time.Second)
		if got := fd.dialed(ip("192.168.1.1")); len(got) != 1 {
			t.Errorf("after Status, the IPv4 gateway probed from %v, want once", got)
		}
	})
}

// TestIdleStop checks that a Selector with WithIdleStop stops its goroutines when
// unused, keeps what it learned, and starts them again on the next use.
func TestIdleStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := netstate.NewStatic(homeSnapshot())
		defer w.Close()
		dns := fakeDNS{"server.test": {ip("2001:db8:2::1")}}
		s, err := New(WithWatcher(w), WithProbeDial((&fakeDial{}).dial), withLookup(dns.lookup), WithIdleStop(3*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		s.Report(probe.Outcome{Path: probe.Path{Src: netip.MustParseAddrPort("[2001:db8:1::10]:0"),
			Dst: netip.MustParseAddrPort("[2001:db8:2::1]:443")}, Result: probe.Success, Start: time.Now(), Duration: 42 * time.Millisecond})
		for range 4 { // used every minute: it keeps running
			if _, err := s.Get(ctx, "server.test", 443); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Minute)
		}
		if !s.running() {
			t.Fatal("stopped while in use")
		}
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		if s.running() {
			t.Fatal("still running after 3 idle minutes")
		}
		w.Set(homeSnapshot()) // a change while stopped reaches nobody, and nothing breaks
		ps, err := s.Get(ctx, "server.test", 443)
		if err != nil {
			t.Fatal(err)
		}
		if !s.running() {
			t.Error("not running again after a Get")
		}
		if ps[0].Basis != Measured {
			t.Errorf("after the restart, first pair %v %v %v; want what was learned before", ps[0].Src, ps[0].Basis, ps[0].Latency)
		}
	})
}

// TestSuspendNoGoroutines checks that a Selector with its own netstate Monitor
// and a prober holds no goroutine once suspended, keeps ranking, and runs again
// after the next use. The Monitor reads the test's own network namespace; nothing
// is sent (probing is off, and the ranking asks the kernel about loopback only).
func TestSuspendNoGoroutines(t *testing.T) {
	StopDefault() // another test may have used it
	others := goleak.IgnoreCurrent()
	s, err := New(WithoutProbing(), WithSharing(t.TempDir()+"/shared"))
	if err != nil {
		t.Skipf("no netstate monitor here: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Get(ctx, "", 80); err != nil {
		t.Fatal(err)
	}
	s.Suspend()
	if err := goleak.Find(others); err != nil {
		t.Fatalf("after Suspend: %v", err)
	}
	if _, err := s.Get(ctx, "", 80); err != nil {
		t.Fatal(err)
	}
	if !s.running() {
		t.Error("not running after a Get")
	}
	if g := s.watcher().Snapshot().Generation; g < 2 {
		t.Errorf("the restarted monitor's generation %d does not continue the first's", g)
	}
}

func TestSwitchWorth(t *testing.T) {
	ms := time.Millisecond
	p := func(dst string, lat time.Duration, b Basis, h probe.Health) *Pair {
		return &Pair{Dst: netip.AddrPortFrom(ip(dst), 80), Latency: lat, Basis: b, Health: h}
	}
	const v6, v4 = "2001:db8::1", "192.0.2.1"
	synth := func(p *Pair) *Pair { p.Synthesized = ip(v4); return p }
	for _, c := range []struct {
		name                  string
		challenger, incumbent *Pair
		want                  bool
	}{
		{"5 ms better", p(v6, 20*ms, Measured, probe.Alive), p(v6, 25*ms, Measured, probe.Alive), false},
		{"40 ms better, under 2/3", p(v6, 60*ms, Measured, probe.Alive), p(v6, 100*ms, Measured, probe.Alive), true},
		{"11 ms better, not under 2/3", p(v6, 89*ms, Measured, probe.Alive), p(v6, 100*ms, Measured, probe.Alive), false},
		{"under 2/3, not 10 ms better", p(v6, 5*ms, Measured, probe.Alive), p(v6, 9*ms, Measured, probe.Alive), false},
		{"incumbent dead", p(v6, 60*ms, Measured, probe.Alive), p(v6, 20*ms, Measured, probe.Dead), true},
		{"incumbent a default", p(v6, 24*ms, Measured, probe.Alive), p(v6, 25*ms, Assumed, probe.Alive), true},
		{"IPv6 bias counted", p(v6, 30*ms, Measured, probe.Alive), p(v4, 20*ms, Measured, probe.Alive), false},
		{"no IPv6 bias through a NAT64", p(v4, 14*ms, Measured, probe.Alive), synth(p("2001:db8:6464::c000:201", 25*ms, Measured, probe.Alive)), true},
	} {
		if got := switchWorth(c.challenger, c.incumbent, DefaultIPv6Bias); got != c.want {
			t.Errorf("%s: switchWorth = %v, want %v", c.name, got, c.want)
		}
	}
	// Extreme latencies (corrupt samples) neither wrap around nor overflow the
	// ratio: an absurd incumbent gives way.
	absurd := p(v6, math.MaxInt64-time.Second, Measured, probe.Alive)
	for _, bias := range []time.Duration{-time.Hour, DefaultIPv6Bias} {
		if !switchWorth(p(v4, 10*ms, Measured, probe.Alive), absurd, bias) {
			t.Errorf("bias %v: a 10ms challenger does not replace an incumbent of %v", bias, absurd.Latency)
		}
	}
}

// TestHysteresis ranks two measured paths 5 ms apart (and 1 ms apart, where the
// estimates cross) whose samples jitter by ±2 ms, four times a second for a
// minute, and counts how often the first pair changes; then one path gets five
// times slower, and the first pair moves at once.
func TestHysteresis(t *testing.T) {
	for _, gap := range []time.Duration{5 * time.Millisecond, time.Millisecond} {
		t.Run(gap.String(), func(t *testing.T) { testHysteresis(t, gap) })
	}
}

func testHysteresis(t *testing.T, gap time.Duration) {
	s, report, a, b := twoPaths(t)
	first := func() netip.Addr {
		ps, err := s.Attempts(context.Background(), Query{Host: "server.test", Port: 443})
		if err != nil {
			t.Fatal(err)
		}
		return ps[0].Src.Addr()
	}
	flips := jitterFlips(gap, func(x, y time.Duration) { report(a, x); report(b, y) }, first)
	if flips > 1 {
		t.Errorf("%d first-pair flips in a minute of ±2 ms jitter, want at most 1", flips)
	}
	for range 3 {
		report(a, 100*time.Millisecond)
	}
	if f := first(); f != b.Addr() {
		t.Errorf("after A got 5× slower, first pair from %v, want %v", f, b.Addr())
	}
	t.Logf("%d flips in 240 rankings (without hysteresis: %d)", flips, flipsWithout(a, b, gap, hysteresisJitter))
}

// twoPaths returns a Selector with two IPv6 sources, A (eth0) and B (eth1), to
// server.test (2001:db8:2::1), and a function reporting a connect from a source
// to it that took rtt.
func twoPaths(t *testing.T) (s *Selector, report func(src netip.AddrPort, rtt time.Duration), a, b netip.AddrPort) {
	s, a, b = twoSources(t, fakeDNS{"server.test": {ip("2001:db8:2::1")}})
	dst := netip.MustParseAddrPort("[2001:db8:2::1]:443")
	report = func(src netip.AddrPort, rtt time.Duration) {
		s.Report(probe.Outcome{Path: probe.Path{Src: src, Dst: dst}, Result: probe.Success, Start: time.Now(), Duration: rtt})
	}
	return s, report, a, b
}

// twoSources returns a Selector with two IPv6 sources, A (eth0) and B (eth1),
// resolving through dns.
func twoSources(t *testing.T, dns fakeDNS) (s *Selector, a, b netip.AddrPort) {
	snap := homeSnapshot()
	snap.Links = append(snap.Links, link(3, "eth1"))
	snap.Addrs = append(snap.Addrs, addr("2001:db8:9::10/64", 3, "eth1"))
	snap.Routes = append(snap.Routes, route("2001:db8:9::/64", "", 3), route("::/0", "fe80::9", 3))
	s, _ = newTestSelector(t, snap, dns)
	return s, netip.MustParseAddrPort("[2001:db8:1::10]:0"), netip.MustParseAddrPort("[2001:db8:9::10]:0")
}

// hysteresisJitter is the jitter of the samples, in milliseconds.
var hysteresisJitter = []time.Duration{2, -1, 0, -2, 1, 2, -2, 0, 1, -1, -2, -2, 2, 2}

// jitterFlips feeds samples of two paths, 20 ms and 20 ms + gap, with ±2 ms of
// jitter (opposite on each), four times a second for a minute (240 rounds),
// and counts how often first changes.
func jitterFlips(gap time.Duration, samples func(x, y time.Duration), first func() netip.Addr) int {
	flips, last := 0, netip.Addr{}
	for i := range 240 {
		j := hysteresisJitter[i%len(hysteresisJitter)] * time.Millisecond
		samples(20*time.Millisecond+j, 20*time.Millisecond+gap-j)
		f := first()
		if last.IsValid() && f != last {
			flips++
		}
		last = f
	}
	return flips
}

// The same hysteresis holds the first pair of a Stream (the dialer's path for
// names) and the first address LookupNetIP returns: under ±2 ms of jitter
// between two paths 1 ms apart, whose estimates cross (see TestHysteresis), the
// first changes at most once in a minute; a path that gets five times slower
// gives way at once.
func TestHysteresisStreamAndLookup(t *testing.T) {
	const gap = time.Millisecond
	t.Run("Stream", func(t *testing.T) {
		s, report, a, b := twoPaths(t)
		first := func() netip.Addr {
			st, err := s.Stream(context.Background(), Query{Host: "server.test", Port: 443})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			p, ok := st.Next()
			if !ok {
				t.Fatal("a Stream without a pair")
			}
			return p.Src.Addr()
		}
		flips := jitterFlips(gap, func(x, y time.Duration) { report(a, x); report(b, y) }, first)
		if flips > 1 {
			t.Errorf("%d first-pair flips of a Stream in a minute of ±2 ms jitter, want at most 1", flips)
		}
		for range 3 {
			report(a, 100*time.Millisecond)
		}
		if f := first(); f != b.Addr() {
			t.Errorf("after A got 5× slower, the Stream's first pair from %v, want %v", f, b.Addr())
		}
	})
	t.Run("LookupNetIP", func(t *testing.T) {
		// Two addresses of the server, each measured over its own source (in
		// other /32s, so that neither inherits the other's latency).
		d1, d2 := netip.MustParseAddrPort("[2001:db8:2::1]:443"), netip.MustParseAddrPort("[2001:db9:2::1]:443")
		s, a, b := twoSources(t, fakeDNS{"server.test": {d1.Addr(), d2.Addr()}})
		report := func(src, dst netip.AddrPort, rtt time.Duration) {
			s.Report(probe.Outcome{Path: probe.Path{Src: src, Dst: dst}, Result: probe.Success, Start: time.Now(), Duration: rtt})
		}
		first := func() netip.Addr {
			addrs, err := s.LookupNetIP(context.Background(), "ip", "server.test")
			if err != nil {
				t.Fatal(err)
			}
			return addrs[0]
		}
		flips := jitterFlips(gap, func(x, y time.Duration) { report(a, d1, x); report(b, d2, y) }, first)
		if flips > 1 {
			t.Errorf("%d first-address flips of LookupNetIP in a minute of ±2 ms jitter, want at most 1", flips)
		}
		for range 3 {
			report(a, d1, 100*time.Millisecond)
		}
		if f := first(); f != d2.Addr() {
			t.Errorf("after the path to %v got 5× slower, LookupNetIP's first address %v, want %v", d1.Addr(), f, d2.Addr())
		}
	})
}

// flipsWithout counts the changes of the faster of the two estimates, which a
// ranking without hysteresis would follow, over the same samples.
func flipsWithout(a, b netip.AddrPort, gap time.Duration, jitter []time.Duration) int {
	st := probe.NewStore()
	dst := netip.MustParseAddrPort("[2001:db8:2::1]:443")
	report := func(src netip.AddrPort, rtt time.Duration) {
		st.Report(probe.Outcome{Path: probe.Path{Src: src, Dst: dst}, Result: probe.Success, Start: time.Now(), Duration: rtt})
	}
	flips, last := 0, 0
	for i := range 240 {
		j := jitter[i%len(jitter)] * time.Millisecond
		report(a, 20*time.Millisecond+j)
		report(b, 20*time.Millisecond+gap-j)
		pa, _ := st.Pair(a.Addr(), dst.Addr())
		pb, _ := st.Pair(b.Addr(), dst.Addr())
		f := 1
		if pb.SRTT < pa.SRTT {
			f = 2
		}
		if last != 0 && f != last {
			flips++
		}
		last = f
	}
	return flips
}

// TestIdleStopNotWhileUsed checks use's lock-free path against the idle
// check: with an idle-stop time of a millisecond, goroutines that use the
// Selector over and over never find the engine they hold stopped by an idle
// check, and once they are done the engine stops.
func TestIdleStopNotWhileUsed(t *testing.T) {
	w := netstate.NewStatic(homeSnapshot())
	defer w.Close()
	s, err := New(WithWatcher(w), WithoutProbing(), WithIdleStop(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	var stolen atomic.Int64
	stop := time.Now().Add(200 * time.Millisecond)
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				e := s.use()
				time.Sleep(50 * time.Microsecond)
				s.life.mu.Lock()
				if s.life.eng != e {
					stolen.Add(1)
				}
				s.life.mu.Unlock()
				s.release()
			}
		})
	}
	wg.Wait()
	if n := stolen.Load(); n > 0 {
		t.Errorf("%d uses found their engine stopped while they held it", n)
	}
	for deadline := time.Now().Add(5 * time.Second); s.running(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("still running 5 s after the last use")
		}
	}
}

// subscribeLate is a Static that publishes a change just before it subscribes
// fn: what the host does between a Selector's first snapshot and its
// subscription.
type subscribeLate struct {
	*netstate.Static
	change *netstate.Snapshot
}

func (w subscribeLate) Subscribe(fn func(*netstate.Snapshot)) func() {
	w.Set(w.change)
	return w.Static.Subscribe(fn)
}

// TestStartObservesChangeBeforeSubscription checks that a change published
// between the first snapshot a starting Selector reads and its subscription
// reaches the Store: an outcome from the source it added is kept.
func TestStartObservesChangeBeforeSubscription(t *testing.T) {
	changed := homeSnapshot()
	changed.Addrs = append(changed.Addrs, addr("192.168.1.77/24", 2, "eth0"))
	st := netstate.NewStatic(homeSnapshot())
	defer st.Close()
	s, err := New(WithWatcher(subscribeLate{st, changed}), WithoutProbing(), withLookup(fakeDNS{}.lookup))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	src, dst := ip("192.168.1.77"), ip("192.168.1.1")
	s.Report(probe.Outcome{Path: probe.Path{Src: netip.AddrPortFrom(src, 0), Dst: netip.AddrPortFrom(dst, 80)},
		Result: probe.Success, Start: time.Now(), Duration: 5 * time.Millisecond})
	if _, ok := s.store.Pair(src, dst); !ok {
		t.Errorf("the outcome from %v, added before the subscription, was dropped", src)
	}
}

// TestStartRacesChanges starts and closes probing Selectors while their
// watcher changes, for the race detector: the subscription must not read the
// engine's prober before it is set.
func TestStartRacesChanges(t *testing.T) {
	st := netstate.NewStatic(homeSnapshot())
	defer st.Close()
	changed := homeSnapshot()
	changed.Addrs = append(changed.Addrs, addr("192.168.1.77/24", 2, "eth0"))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			st.Set(homeSnapshot())
			st.Set(changed)
		}
	})
	for range 50 {
		s, err := New(WithWatcher(st), WithProbeDial((&fakeDial{}).dial), withLookup(fakeDNS{}.lookup))
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	close(stop)
	wg.Wait()
}

// TestHysteresisPinnedQuery: a dial pinned to a source (Query.Local) is the
// caller's choice, not a measure of the paths: it does not become the first
// pair of the same host's unpinned queries. A (20 ms) stays first, although B
// (28 ms) would not be worth a switch by the hysteresis.
func TestHysteresisPinnedQuery(t *testing.T) {
	s, report, a, b := twoPaths(t)
	for range 4 {
		report(a, 20*time.Millisecond)
		report(b, 28*time.Millisecond)
	}
	first := func(q Query) netip.Addr {
		t.Helper()
		ps, err := s.Attempts(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		return ps[0].Src.Addr()
	}
	q := Query{Host: "server.test", Port: 443}
	if f := first(q); f != a.Addr() {
		t.Fatalf("before: first pair from %v, want A", f)
	}
	pinned := q
	pinned.Local = b
	if f := first(pinned); f != b.Addr() {
		t.Fatalf("pinned to B: first pair from %v", f)
	}
	for i := range 20 {
		report(b, 28*time.Millisecond)
		report(a, 20*time.Millisecond)
		if f := first(q); f != a.Addr() {
			t.Fatalf("unpinned query %d after one pinned to B: first pair from %v, want A", i, f)
		}
	}
}

// TestHysteresisBackAfterOutage: A (20 ms) is first, B (28 ms) stands in while
// A fails; once A is repaired and ranks first again, it is first at once,
// although B is not slow enough for the hysteresis to give up an incumbent:
// B held the place for a failure, not for its latency. The same through
// Attempts and through a Stream (the dialer's path for names).
func TestHysteresisBackAfterOutage(t *testing.T) {
	dst := netip.MustParseAddrPort("[2001:db8:2::1]:443")
	for _, way := range []string{"Attempts", "Stream"} {
		t.Run(way, func(t *testing.T) {
			s, report, a, b := twoPaths(t)
			q := Query{Host: "server.test", Port: 443}
			first := func() netip.Addr {
				t.Helper()
				if way == "Attempts" {
					ps, err := s.Attempts(context.Background(), q)
					if err != nil {
						t.Fatal(err)
					}
					return ps[0].Src.Addr()
				}
				st, err := s.Stream(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				for !st.Done() {
					<-st.Changed()
				}
				p, ok := st.Next()
				if !ok {
					t.Fatal("a Stream without a pair")
				}
				return p.Src.Addr()
			}
			for range 4 {
				report(a, 20*time.Millisecond)
				report(b, 28*time.Millisecond)
			}
			if f := first(); f != a.Addr() {
				t.Fatalf("healthy: first %v, want A", f)
			}
			for range 2 {
				s.Report(probe.Outcome{Path: probe.Path{Src: a, Dst: dst}, Result: probe.Timeout, Start: time.Now(), Duration: time.Second})
				report(b, 28*time.Millisecond)
			}
			if f := first(); f != b.Addr() {
				t.Fatalf("A failing: first %v, want B", f)
			}
			for range 3 {
				report(a, 20*time.Millisecond)
				report(b, 28*time.Millisecond)
			}
			if h := s.store.Health(a.Addr()); h != probe.Alive {
				t.Fatalf("A after 3 successes: %v", h)
			}
			if f := first(); f != a.Addr() {
				t.Errorf("A repaired (20 ms, B 28 ms): first pair from %v, want A", f)
			}
			// Back on A, the hysteresis holds again: B is no better.
			for range 5 {
				report(a, 24*time.Millisecond)
				report(b, 22*time.Millisecond)
				if f := first(); f != a.Addr() {
					t.Errorf("A at 24 ms, B at 22 ms: first pair from %v, want A (the hysteresis)", f)
				}
			}
		})
	}
}

// TestDeprecatedLeavesFirst: the first source's address turns deprecated
// (preferred lifetime over): the next racing order (cached orders,
// hysteresis) starts with the other source.
func TestDeprecatedLeavesFirst(t *testing.T) {
	snap := homeSnapshot()
	snap.Links = append(snap.Links, link(3, "eth1"))
	snap.Addrs = append(snap.Addrs, addr("2001:db8:9::10/64", 3, "eth1"))
	snap.Routes = append(snap.Routes, route("2001:db8:9::/64", "", 3), route("::/0", "fe80::9", 3))
	s, w := newTestSelector(t, snap, fakeDNS{"server.test": {ip("2001:db8:2::1")}})
	q := Query{Host: "server.test", Port: 443, Network: "tcp6"}
	ps, err := s.Attempts(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	firstSrc := ps[0].Src.Addr()
	next := *snap
	next.Addrs = append([]netstate.Addr(nil), snap.Addrs...)
	for i := range next.Addrs {
		if next.Addrs[i].IP == firstSrc {
			next.Addrs[i].Flags |= netstate.Deprecated
			next.Addrs[i].PreferredLifetime = 0
		}
	}
	w.Set(&next)
	ps, err = s.Attempts(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Src.Addr() == firstSrc || !ps[len(ps)-1].Deprecated {
		t.Errorf("after %v turned deprecated: order %v", firstSrc, ps)
	}
}

// TestStickyEmptyRanking: a Stream's ranking is empty until an answer with
// a usable address arrives; the hysteresis leaves it so, with an incumbent
// remembered or not.
func TestStickyEmptyRanking(t *testing.T) {
	var st sticky
	if got := st.prefer(stickyID{network: "tcp", host: "server.test"}, nil, DefaultIPv6Bias); len(got) != 0 {
		t.Fatalf("prefer(nil) = %v", got)
	}
	p := Pair{Src: netip.MustParseAddrPort("[2001:db8:1::10]:0"), Dst: netip.MustParseAddrPort("[2001:db8:2::1]:443")}
	st.apply(stickyID{network: "tcp", host: "server.test"}, []Pair{p}, DefaultIPv6Bias)
	if got := st.prefer(stickyID{network: "tcp", host: "server.test"}, nil, DefaultIPv6Bias); len(got) != 0 {
		t.Errorf("prefer(nil) with an incumbent = %v", got)
	}
}

// lateWatcher is a watcher that publishes one more snapshot while it is being
// closed, as a Monitor does when a change lands between a stop's last read of
// its snapshot and its Close.
type lateWatcher struct {
	*netstate.Static
	late *netstate.Snapshot
}

func (w *lateWatcher) Close() error {
	w.Set(w.late)
	return w.Static.Close()
}

// A Selector restarted after a stop (Suspend, an idle stop) starts a Monitor
// whose generations continue the last one's. A snapshot the old Monitor
// published during the stop must not share its generation with the new one's
// first: the view of either would pass for the other's, and the Selector would
// rank with the sources of a host that is gone.
func TestRestartGenerationAfterLatePublish(t *testing.T) {
	before := homeSnapshot()
	after := homeSnapshot()
	after.Addrs = slices.DeleteFunc(slices.Clone(after.Addrs), func(a netstate.Addr) bool { return a.IP == ip("2001:db8:1::10") })
	var mu sync.Mutex
	var started []*lateWatcher
	start := func(_ *zap.Logger, first uint64, _ []netstate.PREF64) (netstate.Watcher, error) {
		snap := *before
		if len(started) > 0 {
			snap = *after
		}
		snap.Generation = first
		w := &lateWatcher{Static: netstate.NewStatic(&snap), late: after}
		mu.Lock()
		started = append(started, w)
		mu.Unlock()
		return w, nil
	}
	s, err := New(withStartWatcher(start), WithoutProbing())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(context.Background(), "2001:db8:2::1", 443); err != nil {
		t.Fatal(err)
	}
	s.Suspend()
	if _, err := s.Get(context.Background(), "2001:db8:2::1", 443); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(started) != 2 {
		t.Fatalf("%d watchers started, want 2 (one per start)", len(started))
	}
	last, first := started[0].Snapshot().Generation, started[1].Snapshot().Generation
	if first <= last {
		t.Errorf("the restarted watcher's first generation is %d, the stopped one's last %d: want it after", first, last)
	}
}
