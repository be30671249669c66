package pairs

import (
	"context"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// countingRoutes returns a watcher whose RouteFor counts its calls and refuses the
// destinations for which refuse is true.
func countingRoutes(refuse func(dst netip.Addr) bool) (*netstate.Static, *atomic.Int64) {
	w := netstate.NewStatic(homeSnapshot())
	var calls atomic.Int64
	w.SetRouteFunc(func(src, dst netip.Addr) (netstate.Decision, error) {
		calls.Add(1)
		if refuse(dst) {
			return netstate.Decision{}, &netstate.RouteError{Src: src, Dst: dst, Kind: netstate.UnreachableErr}
		}
		return netstate.Decision{Index: 2, Interface: "eth0", Src: src}, nil
	})
	return w, &calls
}

// nthDst returns the n-th of many distinct IPv6 destinations.
func nthDst(n int) netip.Addr {
	b := netip.MustParseAddr("2001:db8:100::").As16()
	b[12], b[13], b[14], b[15] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return netip.AddrFrom16(b)
}

func heapAlloc() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// TestRouteCacheBounded asks the verdicts of four times more distinct pairs than
// the cache holds, a quarter of them negative: the cache never holds more than
// routeCacheSize and the heap stops growing (before the bound, it grew without
// limit: 600k destinations took 208 MiB).
func TestRouteCacheBounded(t *testing.T) {
	w, calls := countingRoutes(func(dst netip.Addr) bool { return dst.As16()[15]%4 == 0 })
	defer w.Close()
	v := newView(w.Snapshot(), DefaultPolicyTable())
	src := netip.MustParseAddr("2001:db8:1::10")
	base := heapAlloc()
	var grown []int64
	const n = 4 * routeCacheSize
	for i := range n {
		if _, ok := v.decide(context.Background(), w, src, nthDst(i), nil); !ok {
			t.Fatal("decide failed")
		}
		if (i+1)%routeCacheSize == 0 {
			if l := v.routes.len(); l > routeCacheSize {
				t.Fatalf("%d verdicts cached after %d pairs, want at most %d", l, i+1, routeCacheSize)
			}
			grown = append(grown, heapAlloc()-base)
		}
	}
	runtime.KeepAlive(v)
	t.Logf("heap growth after each %d pairs: %v bytes", routeCacheSize, grown)
	for _, g := range grown[1:] {
		if g > 32<<20 {
			t.Errorf("heap grew by %d MiB, want at most 32", g>>20)
		}
	}
	if d := grown[3] - grown[1]; d > 4<<20 {
		t.Errorf("heap grew by %d KiB between %d and %d pairs: not steady", d>>10, 2*routeCacheSize, n)
	}
	if calls.Load() != n {
		t.Errorf("RouteFor called %d times for %d distinct pairs", calls.Load(), n)
	}
}

// TestRouteCacheKeepsUsed checks that a verdict asked for again and again stays
// cached while many others come and go.
func TestRouteCacheKeepsUsed(t *testing.T) {
	w, calls := countingRoutes(func(netip.Addr) bool { return false })
	defer w.Close()
	v := newView(w.Snapshot(), DefaultPolicyTable())
	src, hot := netip.MustParseAddr("2001:db8:1::10"), netip.MustParseAddr("2001:db8:ffff::1")
	v.decide(context.Background(), w, src, hot, nil)
	for i := range 3 * routeCacheSize {
		v.decide(context.Background(), w, src, nthDst(i), nil)
		if i%(routeCacheSize/4) == 0 {
			v.decide(context.Background(), w, src, hot, nil)
		}
	}
	if got, want := calls.Load(), int64(1+3*routeCacheSize); got != want {
		t.Errorf("RouteFor called %d times, want %d: the verdict in use was evicted", got, want)
	}
}

// TestRouteCacheNegativeExpires checks that the kernel is asked again about a pair
// it refused after about a second, and about one it would send after
// positiveTTL.
func TestRouteCacheNegativeExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := netip.MustParseAddr("2001:db8:bad::1")
		w, calls := countingRoutes(func(dst netip.Addr) bool { return dst == bad })
		defer w.Close()
		v := newView(w.Snapshot(), DefaultPolicyTable())
		src, good := netip.MustParseAddr("2001:db8:1::10"), netip.MustParseAddr("2001:db8:2::1")
		ask := func(dst netip.Addr) int64 {
			t.Helper()
			before := calls.Load()
			if _, ok := v.decide(context.Background(), w, src, dst, nil); !ok {
				t.Fatal("decide failed")
			}
			return calls.Load() - before
		}
		if ask(bad) != 1 || ask(good) != 1 {
			t.Fatal("first verdicts not asked")
		}
		time.Sleep(negativeTTL - time.Millisecond)
		if n := ask(bad); n != 0 {
			t.Errorf("negative verdict asked again before %v", negativeTTL)
		}
		time.Sleep(time.Millisecond)
		if n := ask(bad); n != 1 {
			t.Errorf("negative verdict not asked again after %v", negativeTTL)
		}
		time.Sleep(positiveTTL - negativeTTL - time.Millisecond)
		if n := ask(good); n != 0 {
			t.Errorf("positive verdict asked again before %v", positiveTTL)
		}
		time.Sleep(time.Millisecond)
		if n := ask(good); n != 1 {
			t.Errorf("positive verdict not asked again after %v", positiveTTL)
		}
	})
}

// BenchmarkGetDistinct measures Get of a new destination each time (every
// route verdict asked of the watcher and cached) and reports the heap growth
// after b.N destinations as heap-MiB: run it with -benchtime 1000000x for the
// bound's target (1M destinations, at most 32 MiB).
func BenchmarkGetDistinct(b *testing.B) {
	s, w := newTestSelector(b, homeSnapshot(), nil)
	w.SetRouteFunc(func(src, dst netip.Addr) (netstate.Decision, error) {
		if dst.As16()[15]%4 == 0 {
			return netstate.Decision{}, &netstate.RouteError{Src: src, Dst: dst, Kind: netstate.UnreachableErr}
		}
		return netstate.Decision{Index: 2, Interface: "eth0", Src: src}, nil
	})
	ctx := context.Background()
	base := heapAlloc()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Get(ctx, nthDst(i).String(), 443); err != nil {
			if _, ok := err.(*NoPairError); !ok {
				b.Fatal(err)
			}
		}
		i++
	}
	b.ReportMetric(float64(heapAlloc()-base)/(1<<20), "heap-MiB")
	runtime.KeepAlive(s)
}

// TestRouteDeps checks what candidates owe to route verdicts: the expiry of
// the positive ones (positiveTTL) when all were; the expiry of a negative one,
// cached or fresh, when one dropped a pair.
func TestRouteDeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := netip.MustParseAddr("2001:db8:bad::1")
		w, _ := countingRoutes(func(dst netip.Addr) bool { return dst == bad })
		defer w.Close()
		v := newView(w.Snapshot(), DefaultPolicyTable())
		form := func(dst netip.Addr) routeDeps {
			in := &rankInput{srcs: v.srcs}
			v.candidates(context.Background(), w, in, []netip.Addr{dst}, netip.Addr{}, probe.Translators{}, DefaultPolicyTable())
			return in.routes
		}
		t0 := time.Now()
		if d := form(netip.MustParseAddr("2001:db8:2::1")); !d.until.Equal(t0.Add(positiveTTL)) || d.uncertain {
			t.Errorf("routable destination: %+v, want until %v", d, t0.Add(positiveTTL))
		}
		if d := form(bad); !d.until.Equal(t0.Add(negativeTTL)) || d.uncertain {
			t.Errorf("unroutable destination: %+v, want until %v", d, t0.Add(negativeTTL))
		}
		time.Sleep(negativeTTL / 2)
		if d := form(bad); !d.until.Equal(t0.Add(negativeTTL)) {
			t.Errorf("cached negative verdict: until %v, want %v", d.until, t0.Add(negativeTTL))
		}
	})
}
