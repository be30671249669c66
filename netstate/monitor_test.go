package netstate

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// fakeBackend is a backend whose host is a Snapshot the test sets; events are
// sent by the test on events, and read fails with what is sent on readErr.
type fakeBackend struct {
	mu        sync.Mutex
	host      Snapshot
	dumps     int
	dumpErr   error
	listenErr error
	events    chan struct{}
	readErr   chan error
	done      chan struct{}
	closes    int
}

func newFake(host Snapshot) *fakeBackend {
	return &fakeBackend{host: host, events: make(chan struct{}), readErr: make(chan error), done: make(chan struct{})}
}

// set changes the host (without an event).
func (f *fakeBackend) set(fn func(*Snapshot)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.host)
}

func (f *fakeBackend) dumpCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dumps
}

func (f *fakeBackend) dump() (*Snapshot, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dumps++
	if f.dumpErr != nil {
		return nil, false, f.dumpErr
	}
	s := f.host
	s.Taken = time.Now()
	s.Addrs = append([]Addr(nil), f.host.Addrs...)
	return &s, false, nil
}

func (f *fakeBackend) listen() error { return f.listenErr }

func (f *fakeBackend) read(notify func()) error {
	for {
		select {
		case <-f.events:
			notify()
		case err := <-f.readErr:
			return err
		case <-f.done:
			return nil
		}
	}
}

func (f *fakeBackend) routeFor(_ context.Context, cur *Snapshot, src, dst netip.Addr) (Decision, error) {
	return cur.Lookup(src, dst)
}

func (f *fakeBackend) close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closes++
	close(f.done)
	return nil
}

// recorder collects what a subscriber sees.
type recorder struct {
	mu    sync.Mutex
	snaps []*Snapshot
	at    []time.Time
}

func (r *recorder) fn(s *Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps = append(r.snaps, s)
	r.at = append(r.at, time.Now())
}

func (r *recorder) gens() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var g []uint64
	for _, s := range r.snaps {
		g = append(g, s.Generation)
	}
	return g
}

func addr(s string) Addr {
	return Addr{IP: netip.MustParseAddr(s), Bits: 24, Index: 2, Interface: "eth0", PreferredLifetime: Forever, ValidLifetime: Forever}
}

func startFake(t *testing.T, f *fakeBackend, opts ...Option) (*Monitor, *recorder) {
	t.Helper()
	m, err := New(append(opts, withBackend(f))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	r := new(recorder)
	m.Subscribe(r.fn)
	return m, r
}

func TestMonitorLeadingEdge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(Snapshot{Addrs: []Addr{addr("192.0.2.1")}})
		m, r := startFake(t, f) // default debounce 50 ms: quiet window 5 ms
		if g := m.Snapshot().Generation; g != 1 {
			t.Fatalf("first generation %d, want 1", g)
		}
		f.set(func(s *Snapshot) { s.Addrs = append(s.Addrs, addr("192.0.2.2")) })
		start := time.Now()
		f.events <- struct{}{}
		time.Sleep(4 * time.Millisecond)
		synctest.Wait()
		if len(r.gens()) != 0 {
			t.Fatalf("published before the quiet window ended")
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if got := r.gens(); len(got) != 1 || got[0] != 2 {
			t.Fatalf("generations %v, want [2]", got)
		}
		if d := r.at[0].Sub(start); d != 5*time.Millisecond {
			t.Errorf("published after %v, want 5ms", d)
		}
		if s := m.Snapshot(); len(s.Addrs) != 2 || s != r.snaps[0] {
			t.Errorf("Snapshot() = %+v, want the published one", s)
		}
	})
}

func TestMonitorBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(Snapshot{})
		m, r := startFake(t, f, WithDebounce(50*time.Millisecond))
		// 200 changes, one per millisecond.
		for i := range 200 {
			f.set(func(s *Snapshot) { s.Addrs = []Addr{addr(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}).String())} })
			f.events <- struct{}{}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		// 1 at New, the first after 50 ms (quiet window capped at the spacing),
		// then one per 50 ms, one trailing.
		if d := f.dumpCount(); d > 1+200/50+2 {
			t.Errorf("%d dumps for a 200 ms burst with 50 ms debounce", d)
		}
		gens := r.gens()
		for i, g := range gens {
			if g != uint64(i+2) {
				t.Fatalf("generations %v, want consecutive from 2", gens)
			}
		}
		if got := m.Snapshot().Addrs[0].IP; got != netip.MustParseAddr("192.0.2.199") {
			t.Errorf("final state not published: %v", got)
		}
	})
}

func TestMonitorNoChangeNoPublish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := addr("2001:db8::1")
		a.PreferredLifetime, a.ValidLifetime = time.Hour, 2*time.Hour
		f := newFake(Snapshot{Addrs: []Addr{a}})
		m, r := startFake(t, f)
		// Lifetimes that only ran down with time are no change.
		time.Sleep(10 * time.Second)
		f.set(func(s *Snapshot) {
			s.Addrs[0].PreferredLifetime -= 10 * time.Second
			s.Addrs[0].ValidLifetime -= 10 * time.Second
		})
		f.events <- struct{}{}
		time.Sleep(time.Second)
		synctest.Wait()
		if d := f.dumpCount(); d != 2 {
			t.Errorf("%d dumps, want 2", d)
		}
		if len(r.gens()) != 0 || m.Snapshot().Generation != 1 {
			t.Fatalf("published %v for an unchanged host", r.gens())
		}
		// A refreshed lifetime is a change.
		f.set(func(s *Snapshot) { s.Addrs[0].ValidLifetime = 2 * time.Hour })
		f.events <- struct{}{}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := r.gens(); len(got) != 1 || got[0] != 2 {
			t.Fatalf("generations %v, want [2]", got)
		}
	})
}

func TestMonitorPollingWhenRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.WarnLevel)
		f := newFake(Snapshot{})
		f.listenErr = errors.New("permission denied")
		m, r := startFake(t, f, WithLogger(zap.New(core)), WithPollInterval(time.Second))
		if n := logs.FilterMessage("change events unavailable, polling instead").Len(); n != 1 {
			t.Errorf("%d fallback log entries, want 1", n)
		}
		f.set(func(s *Snapshot) { s.Addrs = []Addr{addr("192.0.2.9")} })
		time.Sleep(900 * time.Millisecond)
		synctest.Wait()
		if len(r.gens()) != 0 {
			t.Fatal("published before the first poll")
		}
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		if got := r.gens(); len(got) != 1 || len(m.Snapshot().Addrs) != 1 {
			t.Fatalf("poll did not publish the change: %v", got)
		}
	})
}

func TestMonitorPollingWhenEventsFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.WarnLevel)
		f := newFake(Snapshot{})
		_, r := startFake(t, f, WithLogger(zap.New(core)), WithPollInterval(time.Second))
		f.readErr <- errors.New("socket gone")
		synctest.Wait()
		if n := logs.FilterMessage("change events stopped, polling instead").Len(); n != 1 {
			t.Errorf("%d fallback log entries, want 1", n)
		}
		f.set(func(s *Snapshot) { s.Addrs = []Addr{addr("192.0.2.9")} })
		time.Sleep(1100 * time.Millisecond)
		synctest.Wait()
		if len(r.gens()) != 1 {
			t.Fatalf("poll did not publish the change: %v", r.gens())
		}
	})
}

func TestMonitorDumpFailureRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zapcore.InfoLevel)
		f := newFake(Snapshot{})
		_, r := startFake(t, f, WithLogger(zap.New(core)))
		f.set(func(s *Snapshot) { s.Addrs = []Addr{addr("192.0.2.9")} })
		f.mu.Lock()
		f.dumpErr = errors.New("interrupted")
		f.mu.Unlock()
		f.events <- struct{}{}
		time.Sleep(200 * time.Millisecond) // several retries, 50 ms apart and more
		synctest.Wait()
		f.mu.Lock()
		f.dumpErr = nil
		f.mu.Unlock()
		time.Sleep(time.Second)
		synctest.Wait()
		if len(r.gens()) != 1 {
			t.Fatalf("change not published after the dump recovered: %v", r.gens())
		}
		if n := logs.FilterMessage("rebuilding the snapshot failed; retrying").Len(); n != 1 {
			t.Errorf("%d failure log entries, want 1 per failure streak", n)
		}
		if n := logs.FilterMessage("rebuilding the snapshot works again").Len(); n != 1 {
			t.Errorf("%d recovery log entries, want 1", n)
		}
	})
}

// TestMonitorDumpFailureBacksOff checks that a dump that keeps failing is
// retried less and less often (up to the poll interval), even without debounce.
func TestMonitorDumpFailureBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(Snapshot{})
		startFake(t, f, WithDebounce(0))
		before := f.dumpCount()
		f.mu.Lock()
		f.dumpErr = errors.New("interrupted")
		f.mu.Unlock()
		f.events <- struct{}{}
		time.Sleep(time.Minute)
		synctest.Wait()
		// 50 ms, doubling to the 5 s poll interval: 7 retries in the first 6.35 s,
		// then one every 5 s.
		if n := f.dumpCount() - before; n < 10 || n > 25 {
			t.Errorf("%d dumps in a minute of failures, want about 19", n)
		}
	})
}

func TestMonitorClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(Snapshot{})
		m, err := New(withBackend(f))
		if err != nil {
			t.Fatal(err)
		}
		r := new(recorder)
		unsub := m.Subscribe(r.fn)
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if f.closes != 1 {
			t.Errorf("backend closed %d times", f.closes)
		}
		unsub() // after Close: harmless
		f.set(func(s *Snapshot) { s.Addrs = []Addr{addr("192.0.2.9")} })
		time.Sleep(time.Second)
		if len(r.gens()) != 0 {
			t.Errorf("subscriber called after Close")
		}
		if m.Snapshot() == nil {
			t.Error("Snapshot() nil after Close")
		}
	})
}

func TestMonitorNewDumpError(t *testing.T) {
	f := newFake(Snapshot{})
	f.dumpErr = errors.New("no netlink")
	if _, err := New(withBackend(f)); err == nil || f.closes != 1 {
		t.Fatalf("New = %v, backend closes %d; want the error and a closed backend", err, f.closes)
	}
}

func TestMonitorRouteForContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := startFake(t, newFake(*multihomed()))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := m.RouteFor(ctx, netip.Addr{}, netip.MustParseAddr("8.8.8.8")); !errors.Is(err, context.Canceled) {
			t.Errorf("RouteFor with canceled ctx: %v", err)
		}
		d, err := m.RouteFor(context.Background(), netip.Addr{}, netip.MustParseAddr("8.8.8.8"))
		if err != nil || d.Interface != "eth0" {
			t.Errorf("RouteFor = %+v, %v", d, err)
		}
	})
}

func TestDebouncerZeroSpacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake(Snapshot{})
		_, r := startFake(t, f, WithDebounce(0))
		for i := range 3 {
			f.set(func(s *Snapshot) { s.Addrs = []Addr{addr(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}).String())} })
			f.events <- struct{}{}
			synctest.Wait()
		}
		if got := r.gens(); len(got) != 3 {
			t.Errorf("without debounce each event publishes: %v", got)
		}
	})
}

// TestMonitorFirstGeneration checks that a Monitor started to replace another
// continues its generations, and that a neighbour state change of a router is a
// change.
func TestMonitorFirstGeneration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gw := netip.MustParseAddr("192.0.2.254")
		f := newFake(Snapshot{Addrs: []Addr{addr("192.0.2.1")},
			Neighbors: []Neighbor{{Index: 2, IP: gw, State: NeighReachable}}})
		m, r := startFake(t, f, WithFirstGeneration(41))
		if g := m.Snapshot().Generation; g != 41 {
			t.Fatalf("first generation %d, want 41", g)
		}
		f.set(func(s *Snapshot) { s.Neighbors = []Neighbor{{Index: 2, IP: gw, State: NeighFailed}} })
		f.events <- struct{}{}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := r.gens(); len(got) != 1 || got[0] != 42 {
			t.Fatalf("generations %v after the router failed, want [42]", got)
		}
	})
}
