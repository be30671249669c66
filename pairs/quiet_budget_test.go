package pairs

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// timedDial records every probe connect with its time.
type timedDial struct {
	fakeDial
	at []time.Time
}

func (f *timedDial) dialT(ctx context.Context, p probe.Path) (net.Conn, error) {
	f.mu.Lock()
	f.at = append(f.at, time.Now())
	f.mu.Unlock()
	return f.dial(ctx, p)
}

// recordingSelector starts a Selector over homeSnapshot with a recording dial.
func recordingSelector(t *testing.T, opts ...Option) (*Selector, *timedDial, *netstate.Static) {
	fd := &timedDial{}
	w := netstate.NewStatic(homeSnapshot())
	dns := fakeDNS{"server.test": {ip("2001:db8:2::1"), ip("2001:db8:4::1"), ip("198.51.100.1")},
		"udp.test": {ip("2001:db8:3::53"), ip("2001:db8:6::53")}}
	opts = append([]Option{WithWatcher(w), WithProbeDial(fd.dialT), withLookup(dns.lookup)}, opts...)
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, fd, w
}

func (f *timedDial) log() ([]probe.Path, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.paths), slices.Clone(f.at)
}

// checkBudget applies the README's budget to what was probed: only the dialed
// TCP destinations (addresses and port) in tcp, at most one connect per path per
// minute, none later than 5 min (+1 round) after the last dial.
func checkBudget(t *testing.T, paths []probe.Path, at []time.Time, tcp []netip.AddrPort, lastDial time.Time) {
	t.Helper()
	byPath := map[probe.Path][]time.Time{}
	for i, p := range paths {
		if !slices.Contains(tcp, p.Dst) {
			t.Errorf("probe over %v at +%v: not a dialed TCP destination", p, at[i].Sub(lastDial))
		}
		if at[i].After(lastDial.Add(probe.QuietWantTTL + 70*time.Second)) {
			t.Errorf("probe over %v %v after the last dial", p, at[i].Sub(lastDial))
		}
		byPath[p] = append(byPath[p], at[i])
	}
	for p, ts := range byPath {
		for i := 1; i < len(ts); i++ {
			if g := ts[i].Sub(ts[i-1]); g < time.Minute {
				t.Errorf("%v probed twice within %v", p, g)
			}
		}
	}
}

// TestQuietNothing: a Selector nobody dials with sends nothing in 30 min.
func TestQuietNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fd, w := recordingSelector(t)
		defer w.Close()
		defer s.Close()
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		if p, _ := fd.log(); len(p) != 0 {
			t.Errorf("never dialed: %d probes %v", len(p), p)
		}
	})
}

// TestQuietUDPOnce: one UDP dial (Attempts over udp), then 30 min: no probe.
func TestQuietUDPOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fd, w := recordingSelector(t)
		defer w.Close()
		defer s.Close()
		ps, err := s.Attempts(context.Background(), Query{Network: "udp", Host: "udp.test", Port: 53})
		if err != nil {
			t.Fatal(err)
		}
		_ = ps
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		if p, _ := fd.log(); len(p) != 0 {
			t.Errorf("one UDP dial: %d probes %v", len(p), p)
		}
	})
}

// TestQuietTCPOnce: one TCP dial, then 30 min: the budget.
func TestQuietTCPOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fd, w := recordingSelector(t)
		defer w.Close()
		defer s.Close()
		ps, err := s.Attempts(context.Background(), Query{Network: "tcp", Host: "server.test", Port: 443})
		if err != nil {
			t.Fatal(err)
		}
		s.Report(probe.Outcome{Path: ps[0].Path(), Result: probe.Success, Start: time.Now(), Duration: 30 * time.Millisecond})
		last := time.Now()
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		paths, at := fd.log()
		t.Logf("%d probes", len(paths))
		checkBudget(t, paths, at, []netip.AddrPort{netip.MustParseAddrPort("[2001:db8:2::1]:443"),
			netip.MustParseAddrPort("[2001:db8:4::1]:443")}, last)
	})
}

// TestIdleStopGoroutines: WithIdleStop(3 min), one TCP dial, then idle:
// after 3 minutes and a bit the engine is stopped and no goroutine of the
// Selector is left; the next dial starts it again; Close twice and a dial
// racing Close leave nothing either.
func TestIdleStopGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _, w := recordingSelector(t, WithIdleStop(3*time.Minute))
		defer w.Close()
		ctx := context.Background()
		if _, err := s.Attempts(ctx, Query{Network: "tcp", Host: "server.test", Port: 443}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3*time.Minute + 10*time.Second)
		synctest.Wait()
		if s.running() {
			t.Fatal("still running after 3 idle minutes")
		}
		if left := bubbleGoroutines(); len(left) > 0 {
			t.Errorf("%d goroutines beside the test after the idle stop:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		if _, err := s.Attempts(ctx, Query{Network: "tcp", Host: "server.test", Port: 443}); err != nil {
			t.Fatal(err)
		}
		if !s.running() {
			t.Fatal("not restarted by a dial")
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 50 {
				s.Attempts(ctx, Query{Network: "tcp", Host: "server.test", Port: 443})
				time.Sleep(100 * time.Millisecond)
			}
		}()
		time.Sleep(time.Second)
		s.Close()
		s.Close()
		<-done
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if s.running() {
			t.Error("running after Close")
		}
	})
}

// bubbleGoroutines returns the stacks of the goroutines in the caller's
// synctest bubble other than the caller and synctest's own. Counting with
// runtime.NumGoroutine instead sees goroutines outside the bubble come and go
// (the finalizer goroutine counts while it runs a finalizer).
func bubbleGoroutines() []string {
	own := make([]byte, 1<<10)
	own = own[:runtime.Stack(own, false)]
	header, _, _ := strings.Cut(string(own), "\n")
	_, bubble, ok := strings.Cut(header, ", synctest bubble ")
	if !ok {
		panic("bubbleGoroutines called outside a synctest bubble: " + header)
	}
	bubble = ", synctest bubble " + bubble // "…bubble 23]:", unambiguous with its bracket
	buf := make([]byte, 1<<20)
	var left []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		h, _, _ := strings.Cut(g, "\n")
		if h == header || !strings.HasSuffix(h, bubble) ||
			strings.Contains(g, "testing/synctest.") || strings.Contains(g, "internal/synctest.Run(") {
			continue
		}
		left = append(left, g)
	}
	return left
}

// TestStatusGateways: Status once, nothing dialed, 30 min: only the
// default gateways on port 80, at most once a minute per path; WithoutProbing:
// nothing; GETAPR_PROBE_TARGETS is not read by New.
func TestStatusGateways(t *testing.T) {
	t.Setenv(EnvProbeTargets, "192.0.2.77:80")
	synctest.Test(t, func(t *testing.T) {
		s, fd, w := recordingSelector(t)
		defer w.Close()
		defer s.Close()
		s.Status()
		start := time.Now()
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		paths, at := fd.log()
		checkBudget(t, paths, at, []netip.AddrPort{netip.MustParseAddrPort("192.168.1.1:80"),
			netip.MustParseAddrPort("[fe80::1%eth0]:80")}, start.Add(30*time.Minute))
		t.Logf("%d gateway probes", len(paths))
	})
	synctest.Test(t, func(t *testing.T) {
		s, fd, w := recordingSelector(t, WithoutProbing())
		defer w.Close()
		defer s.Close()
		s.Status()
		s.Init(context.Background())
		ps, _ := s.Attempts(context.Background(), Query{Network: "tcp", Host: "server.test", Port: 443})
		s.Report(probe.Outcome{Path: ps[0].Path(), Result: probe.Success, Start: time.Now(), Duration: 30 * time.Millisecond})
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		if p, _ := fd.log(); len(p) != 0 {
			t.Errorf("WithoutProbing: %v", p)
		}
	})
}

// TestSuspendRestartBudget: a dial, Suspend (StopDefault's effect), and
// dials again right away: the paths probed before the suspension are not probed
// again within the minute.
func TestSuspendRestartBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, fd, w := recordingSelector(t)
		defer w.Close()
		defer s.Close()
		ctx := context.Background()
		dial := func() {
			ps, err := s.Attempts(ctx, Query{Network: "tcp", Host: "server.test", Port: 443})
			if err != nil {
				t.Fatal(err)
			}
			s.Report(probe.Outcome{Path: ps[0].Path(), Result: probe.Success, Start: time.Now(), Duration: 30 * time.Millisecond})
		}
		dial()
		time.Sleep(5 * time.Second)
		for range 5 {
			s.Suspend()
			dial()
			time.Sleep(5 * time.Second)
		}
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		paths, at := fd.log()
		checkBudget(t, paths, at, []netip.AddrPort{netip.MustParseAddrPort("[2001:db8:2::1]:443"),
			netip.MustParseAddrPort("[2001:db8:4::1]:443")}, at[0])
	})
}
