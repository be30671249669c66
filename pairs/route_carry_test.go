package pairs

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/netstate"
)

// routeCounter is a Static watcher's route function that answers from the
// current snapshot and counts the questions per destination.
type routeCounter struct {
	w  *netstate.Static
	mu sync.Mutex
	n  map[netip.Addr]int
}

func newRouteCounter(w *netstate.Static) *routeCounter {
	c := &routeCounter{w: w, n: map[netip.Addr]int{}}
	w.SetRouteFunc(func(src, dst netip.Addr) (netstate.Decision, error) {
		c.mu.Lock()
		c.n[dst]++
		c.mu.Unlock()
		return w.Snapshot().Lookup(src, dst)
	})
	return c
}

// take returns the questions asked per destination since the last take.
func (c *routeCounter) take() map[netip.Addr]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[netip.Addr]int{}
	return n
}

// routeChangeSelector is a Selector over a router of 16 uplinks and a route
// counter, for a name with one IPv6 and one IPv4 address.
func routeChangeSelector(t *testing.T) (*Selector, *netstate.Static, *routeCounter, Query) {
	t.Helper()
	w := netstate.NewStatic(routerSnapshot(16, 0))
	c := newRouteCounter(w)
	dns := fakeDNS{"www.example": {ip("2001:db8:ffff::1"), ip("198.51.100.1")}}
	s, err := New(WithWatcher(w), WithoutProbing(), withLookup(dns.lookup))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); w.Close() })
	return s, w, c, Query{Network: "tcp", Host: "www.example", Port: 443}
}

// withRoutes returns a copy of w's snapshot whose routes edit makes.
func withRoutes(w *netstate.Static, edit func([]netstate.Route) []netstate.Route) *netstate.Snapshot {
	next := *w.Snapshot()
	next.Routes = edit(slices.Clone(next.Routes))
	return &next
}

// On a router, routes to unrelated prefixes change all the time (a BGP feed:
// several updates a second), and each change makes a new snapshot generation.
// A change that leaves the links, the addresses, the rules and every route
// covering the destination alone must not make the next dial ask the kernel
// again for every pair (one RTM_GETROUTE each, about 50 µs measured).
func TestRouteCacheSurvivesUnrelatedRouteChange(t *testing.T) {
	s, w, c, q := routeChangeSelector(t)
	if _, err := s.Attempts(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	first := c.take()
	if len(first) == 0 {
		t.Fatal("the first dial asked the kernel nothing")
	}
	for i := range 10 {
		// Added, then changed, as BGP updates do; prefixes no destination is in.
		w.Set(withRoutes(w, func(rs []netstate.Route) []netstate.Route {
			return append(rs, netstate.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(i), 0}), 24), Gateway: ip("203.0.0.254"), Index: 2})
		}))
		w.Set(withRoutes(w, func(rs []netstate.Route) []netstate.Route {
			rs[len(rs)-1].Gateway, rs[len(rs)-1].Index = ip("203.0.1.254"), 3
			return rs
		}))
		if _, err := s.Attempts(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	if again := c.take(); len(again) != 0 {
		t.Errorf("dials after unrelated route changes asked the kernel again: %v questions per destination (the first dial: %v)", again, first)
	}
}

// A route that covers a destination, once changed, is asked about again, and
// the ranking follows the kernel's new decision; the verdicts of the other
// destinations stay.
func TestRouteCacheDropsVerdictsAChangeCovers(t *testing.T) {
	s, w, c, q := routeChangeSelector(t)
	ps, err := s.Attempts(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	c.take()
	dst4 := ip("198.51.100.1")
	if got := firstSourceTo(ps, dst4); got == ip("203.0.3.1") || got == ip("203.0.3.2") {
		t.Fatalf("first source to %s is uplink 3's (%v) before the change", dst4, got)
	}
	// The destination's own route, by uplink 3 only: the kernel now sends
	// every IPv4 pair to it by that uplink.
	w.Set(withRoutes(w, func(rs []netstate.Route) []netstate.Route {
		return append(rs, route("198.51.100.0/24", "203.0.3.254", 5))
	}))
	ps, err = s.Attempts(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	asked := c.take()
	if asked[dst4] == 0 {
		t.Errorf("the change of %s's route did not make the dial ask the kernel about it again (asked: %v)", dst4, asked)
	}
	if n := asked[ip("2001:db8:ffff::1")]; n != 0 {
		t.Errorf("the IPv6 destination, which no changed route covers, was asked about %d times again", n)
	}
	if got := firstSourceTo(ps, dst4); got != ip("203.0.3.1") && got != ip("203.0.3.2") {
		t.Errorf("first source to %s is %v after the kernel sends it by uplink 3 only, want uplink 3's", dst4, got)
	}
}

// firstSourceTo returns the source of the first of ps to dst.
func firstSourceTo(ps []Pair, dst netip.Addr) netip.Addr {
	for _, p := range ps {
		if p.Dst.Addr() == dst {
			return p.Src.Addr()
		}
	}
	return netip.Addr{}
}

// A change of an address, a link or a rule may change any decision (the
// kernel's choice of source, a route's link going down): nothing is carried
// over then.
func TestRouteCacheNotCarriedOverOtherChanges(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*netstate.Snapshot)
	}{
		{"address deprecated", func(s *netstate.Snapshot) {
			s.Addrs = slices.Clone(s.Addrs)
			s.Addrs[0].Flags |= netstate.Deprecated
		}},
		{"link down", func(s *netstate.Snapshot) {
			s.Links = slices.Clone(s.Links)
			s.Links[len(s.Links)-1].Running = false
		}},
		{"rule added", func(s *netstate.Snapshot) {
			s.Rules = append(slices.Clone(s.Rules), netstate.Rule{Is6: true, Priority: 100, Src: netip.MustParsePrefix("2001:db8:1::/64"), Table: 101})
		}},
		{"many routes changed", func(s *netstate.Snapshot) {
			s.Routes = slices.Clone(s.Routes)
			for i := range maxCarriedChanges + 1 {
				s.Routes = append(s.Routes, route(netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64, byte(i), 0}), 24).String(), "203.0.0.254", 2))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, w, c, q := routeChangeSelector(t)
			if _, err := s.Attempts(context.Background(), q); err != nil {
				t.Fatal(err)
			}
			first := c.take()
			next := *w.Snapshot()
			tc.edit(&next)
			w.Set(&next)
			if _, err := s.Attempts(context.Background(), q); err != nil {
				t.Fatal(err)
			}
			if again := c.take(); len(again) != len(first) {
				t.Errorf("after the change the dial asked about %v, want every destination again (%v)", again, first)
			}
		})
	}
}

func TestRoutesChanged(t *testing.T) {
	r := func(dst string) netstate.Route { return route(dst, "", 2) }
	base := []netstate.Route{r("10.0.0.0/8"), r("10.1.0.0/16"), r("10.2.0.0/16"), r("10.3.0.0/16")}
	changedGw := slices.Clone(base)
	changedGw[2].Gateway = ip("10.2.0.1")
	for _, tc := range []struct {
		name string
		b    []netstate.Route
		want []string
		ok   bool
	}{
		{"same", base, nil, true},
		{"inserted", slices.Insert(slices.Clone(base), 2, r("10.9.0.0/16")), []string{"10.9.0.0/16"}, true},
		{"appended", append(slices.Clone(base), r("10.9.0.0/16")), []string{"10.9.0.0/16"}, true},
		{"removed", slices.Delete(slices.Clone(base), 1, 2), []string{"10.1.0.0/16"}, true},
		{"changed", changedGw, []string{"10.2.0.0/16", "10.2.0.0/16"}, true},
		{"three gone", base[3:], []string{"10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16"}, true},
		{"all gone", nil, nil, false},
		{"too many", []netstate.Route{r("10.3.0.0/16"), r("10.2.0.0/16"), r("10.1.0.0/16"), r("10.0.0.0/8")}, nil, false},
	} {
		got, ok := routesChanged(base, tc.b, 3)
		var want []netip.Prefix
		for _, p := range tc.want {
			want = append(want, netip.MustParsePrefix(p))
		}
		if ok != tc.ok || !slices.Equal(got, want) {
			t.Errorf("%s: routesChanged = %v, %v; want %v, %v", tc.name, got, ok, want, tc.ok)
		}
	}
}

// A negative verdict carried over is believed for what was left of its
// negativeTTL, not for a new one; one that ran out is not carried.
func TestRouteCacheCarriesNegativeExpiry(t *testing.T) {
	old := newRouteCache()
	old.born = time.Now().Add(-2 * time.Second)
	src := ip("2001:db8:1::1")
	fresh := routeKey{src, ip("2001:db8:ffff::1")}
	stale := routeKey{src, ip("2001:db8:ffff::2")}
	zoned := routeKey{src, ip("fe80::1%up0")}
	refused := &netstate.RouteError{}
	old.cur[fresh] = routeVerdict{err: refused, until: 2*time.Second + 500*time.Millisecond}
	old.cur[stale] = routeVerdict{err: refused, until: time.Second}
	old.cur[zoned] = routeVerdict{index: 2, until: time.Minute}
	kept := routeKey{src, ip("2001:db8:ffff::3")}
	old.cur[kept] = routeVerdict{index: 2, until: positiveTTL}
	c := newRouteCache()
	c.carryFrom(&old, []netip.Prefix{netip.MustParsePrefix("fe80::/64")})
	if _, ok := c.cur[stale]; ok {
		t.Error("an expired negative verdict was carried over")
	}
	if _, ok := c.cur[zoned]; ok {
		t.Error("a verdict for a zoned destination that a changed prefix covers was carried over")
	}
	r, ok := c.cur[fresh]
	if !ok {
		t.Fatal("a negative verdict with time left was not carried over")
	}
	if r.until <= 0 || r.until > 500*time.Millisecond {
		t.Errorf("carried negative verdict believed for %v more, want at most the 500ms it had left", r.until)
	}
	if r, ok := c.cur[kept]; !ok || r.until <= 0 || r.until > positiveTTL-2*time.Second {
		t.Errorf("carried positive verdict: %+v, %v; want it believed for at most the %v it had left", r, ok, positiveTTL-2*time.Second)
	}
}

// A verdict that the kernel would send a pair is believed for positiveTTL,
// however long its view lasts and through the route changes it is carried
// over: what the kernel decides by and a snapshot does not show (a rule by
// user id or by protocol, a nexthop object) cannot keep a wrong answer for the
// life of the program.
func TestRouteVerdictsExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, w, c, q := routeChangeSelector(t)
		ctx := context.Background()
		if _, err := s.Attempts(ctx, q); err != nil {
			t.Fatal(err)
		}
		first := c.take()
		time.Sleep(positiveTTL - time.Second)
		w.Set(withRoutes(w, func(rs []netstate.Route) []netstate.Route {
			return append(rs, route("100.64.0.0/24", "203.0.0.254", 2))
		}))
		if _, err := s.Attempts(ctx, q); err != nil {
			t.Fatal(err)
		}
		if again := c.take(); len(again) != 0 {
			t.Errorf("asked the kernel again before the verdicts expired: %v", again)
		}
		time.Sleep(time.Second)
		if _, err := s.Attempts(ctx, q); err != nil {
			t.Fatal(err)
		}
		if again := c.take(); !maps.Equal(again, first) {
			t.Errorf("after %v the dial asked about %v, want every pair again (%v)", positiveTTL, again, first)
		}
	})
}
