package pairs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// fakeDial connects over a path in the bubble's fake time: IPv6 paths take 30 ms,
// IPv4 paths 10 ms. It records the paths it was asked for.
type fakeDial struct {
	mu    sync.Mutex
	paths []probe.Path
}

func (f *fakeDial) dial(ctx context.Context, p probe.Path) (net.Conn, error) {
	f.mu.Lock()
	f.paths = append(f.paths, p)
	f.mu.Unlock()
	d := 30 * time.Millisecond
	if p.Dst.Addr().Is4() {
		d = 10 * time.Millisecond
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
	}
	c1, c2 := net.Pipe()
	c2.Close()
	return c1, nil
}

func (f *fakeDial) dialed(dst netip.Addr) []netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	var srcs []netip.Addr
	for _, p := range f.paths {
		if p.Dst.Addr() == dst && !slices.Contains(srcs, p.Src.Addr()) {
			srcs = append(srcs, p.Src.Addr())
		}
	}
	slices.SortFunc(srcs, netip.Addr.Compare)
	return srcs
}

// TestProbing runs a Selector with an eager prober over a fake dial in a synctest
// bubble: Init waits for the first round, a destination asked for is probed from
// its candidate sources, and the measurements reorder the ranking.
func TestProbing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fd := &fakeDial{}
		w := netstate.NewStatic(homeSnapshot())
		defer w.Close()
		dns := fakeDNS{"server.test": {ip("2001:db8:2::1"), ip("198.51.100.1")}}
		s, err := New(WithWatcher(w), WithProbeDial(fd.dial), withLookup(dns.lookup), WithEagerProbing())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		if err := s.Init(ctx); err != nil {
			t.Fatal(err)
		}
		if got := fd.dialed(ip("192.168.1.1")); !slices.Equal(got, []netip.Addr{ip("192.168.1.10")}) {
			t.Errorf("IPv4 gateway probed from %v", got)
		}
		ps, err := s.Get(ctx, "server.test", 443)
		if err != nil {
			t.Fatal(err)
		}
		if ps[0].Basis != Assumed || !ps[0].Is6() {
			t.Errorf("before probing, first pair = %v %s", ps[0].Dst, ps[0].Reason)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		want6 := []netip.Addr{ip("2001:db8:1::10"), ip("fd00:1::10")} // NPTv6 not tried yet: tried
		if got := fd.dialed(ip("2001:db8:2::1")); !slices.Equal(got, want6) {
			t.Errorf("server probed from %v, want %v", got, want6)
		}
		ps, err = s.Get(ctx, "server.test", 443)
		if err != nil {
			t.Fatal(err)
		}
		if ps[0].Dst.Addr() != ip("198.51.100.1") || ps[0].Basis != Measured {
			t.Errorf("after probing, first pair = %v %s; want the 10 ms IPv4 one", ps[0].Dst, ps[0].Reason)
		}
		if st := s.Status(); !st.IPv4OK || !st.GUAOK || !st.NAT44 {
			t.Errorf("Status = %+v", st)
		}
		fd.mu.Lock()
		dials := len(fd.paths)
		fd.mu.Unlock()
		if st := s.ProberStats(); st.Rounds == 0 || st.Connects != uint64(dials) || st.InFlight != 0 || st.Targets == 0 {
			t.Errorf("ProberStats = %+v; want rounds, %d connects (as dialed), none in flight, targets", st, dials)
		}
	})
}

// TestInitWithoutProbing checks that Init returns at once without a prober, and
// that ProberStats is zero.
func TestInitWithoutProbing(t *testing.T) {
	s, _ := newTestSelector(t, homeSnapshot(), nil)
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := s.ProberStats(); st != (probe.ProberStats{}) {
		t.Errorf("ProberStats without probing = %+v, want zero", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestInitThroughSuspend checks that a Suspend while Init waits for the first
// round makes Init wait for the round of the goroutines started again, and
// that Init after Close says the Selector is closed.
func TestInitThroughSuspend(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var slow atomic.Bool // the first engine's probes hang until the Suspend
		slow.Store(true)
		fd := &fakeDial{}
		dial := func(ctx context.Context, p probe.Path) (net.Conn, error) {
			if slow.Load() {
				<-ctx.Done()
				return nil, ctx.Err()
			}
			return fd.dial(ctx, p)
		}
		w := netstate.NewStatic(homeSnapshot())
		defer w.Close()
		s, err := New(WithWatcher(w), WithProbeDial(dial), withLookup(fakeDNS{}.lookup))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- s.Init(t.Context()) }()
		time.Sleep(100 * time.Millisecond)
		slow.Store(false)
		s.Suspend()
		if err := <-done; err != nil {
			t.Errorf("Init through a Suspend: %v", err)
		}
		s.Close()
		if err := s.Init(t.Context()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Init after Close: %v, want net.ErrClosed", err)
		}
	})
}
