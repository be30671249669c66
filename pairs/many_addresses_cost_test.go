package pairs

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
)

// routerSnapshot is a multi-homed router: nIf uplinks, each with two global
// IPv6 and two global IPv4 addresses and a default route of each family, and
// extra more-specific routes (a partial BGP table).
func routerSnapshot(nIf, extra int) *netstate.Snapshot {
	s := &netstate.Snapshot{Generation: 1, Links: []netstate.Link{{Index: 1, Name: "lo", Up: true, Running: true, Loopback: true}}}
	for i := range nIf {
		idx, name := i+2, fmt.Sprintf("up%d", i)
		s.Links = append(s.Links, link(idx, name))
		for j := range 2 {
			s.Addrs = append(s.Addrs,
				addr(fmt.Sprintf("2001:db8:%x::%x/64", i+1, j+1), idx, name),
				addr(fmt.Sprintf("203.0.%d.%d/24", i, j+1), idx, name))
		}
		s.Routes = append(s.Routes,
			route(fmt.Sprintf("2001:db8:%x::/64", i+1), "", idx),
			route(fmt.Sprintf("203.0.%d.0/24", i), "", idx),
			netstate.Route{Dst: netip.MustParsePrefix("::/0"), Gateway: ip(fmt.Sprintf("2001:db8:%x::ff", i+1)), Index: idx, Priority: uint32(100 + i)},
			netstate.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: ip(fmt.Sprintf("203.0.%d.254", i)), Index: idx, Priority: uint32(100 + i)})
	}
	for k := range extra {
		idx := 2 + k%nIf
		s.Routes = append(s.Routes, netstate.Route{Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{100, byte(64 + k>>8), byte(k), 0}), 24),
			Gateway: ip(fmt.Sprintf("203.0.%d.254", k%nIf)), Index: idx})
	}
	return s
}

// bigAnswer is a name's answer of n AAAA and n A records.
func bigAnswer(n int) []netip.Addr {
	var out []netip.Addr
	for i := range n {
		out = append(out, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xff, 0xff, 14: byte(i >> 8), 15: byte(i)}))
		out = append(out, netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}))
	}
	return out
}

// maxPairsPerDial is what a dial should rank and hand to the race at most: no
// race gets near it before its time runs out (at the 10 ms floor of the attempt
// delay, 1024 attempts take 10 s; at the default 250 ms, over 4 minutes), and
// net.Dialer tries only its addresses, one pair each.
const maxPairsPerDial = 1024

// A dial to a name with 500 addresses from a host with 64 addresses must not
// rank, route-check and hand out every one of the 16,000 same-family pairs on
// every dial: the first dial's cost (kernel route lookups, one RTM_GETROUTE
// each on Linux) and the pairs returned stay bounded.
func TestAttemptsBoundedForManyAddresses(t *testing.T) {
	snap := routerSnapshot(16, 2000)
	w := netstate.NewStatic(snap)
	var routeCalls atomic.Int64
	w.SetRouteFunc(func(src, dst netip.Addr) (netstate.Decision, error) {
		routeCalls.Add(1)
		return snap.Lookup(src, dst)
	})
	dns := fakeDNS{"many.example": bigAnswer(250)}
	s, err := New(WithWatcher(w), WithoutProbing(), withLookup(dns.lookup))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); w.Close() })
	q := Query{Network: "tcp", Host: "many.example", Port: 443}

	t0 := time.Now()
	ps, err := s.Attempts(context.Background(), q)
	first := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	calls := routeCalls.Load()
	t0 = time.Now()
	if _, err := s.Attempts(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	second := time.Since(t0)
	t.Logf("64 sources x 500 destinations: %d pairs, %d route lookups, first dial %v, second %v",
		len(ps), calls, first, second)
	if len(ps) > maxPairsPerDial {
		t.Errorf("Attempts returned %d pairs, want at most %d", len(ps), maxPairsPerDial)
	}
	if calls > maxPairsPerDial {
		t.Errorf("one dial asked the kernel for %d routes, want at most %d", calls, maxPairsPerDial)
	}
}

// maxDialAlloc is what one dial's pairs may allocate: 1024 pairs of about
// 160 bytes, a few times over. net.Dialer allocates a few KiB for 500
// addresses.
const maxDialAlloc = 4 << 20

// A dial's Stream to a name with 500 addresses from a host with 64 addresses
// (what PairDialer.DialContext does for every TCP dial to a name) must not
// rank every pair again, and allocate megabytes, on every dial: the Stream
// has no remembered order (unlike Attempts), so the cost recurs.
func TestStreamBoundedForManyAddresses(t *testing.T) {
	snap := routerSnapshot(16, 0)
	dns := fakeDNS{"many.example": bigAnswer(250)}
	s, _ := newTestSelector(t, snap, dns)
	q := Query{Network: "tcp", Host: "many.example", Port: 443}
	dial := func() int {
		st, err := s.Stream(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		awaitDone(st)
		return st.Left()
	}
	n := dial() // the route cache is warm from now on
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t0 := time.Now()
	const runs = 5
	for range runs {
		dial()
	}
	per := time.Since(t0) / runs
	runtime.ReadMemStats(&after)
	bytes := (after.TotalAlloc - before.TotalAlloc) / runs
	t.Logf("warm dial to a name with 500 addresses from 64 sources: %d pairs, %v and %d KiB allocated per dial", n, per, bytes>>10)
	if n > maxPairsPerDial {
		t.Errorf("the Stream holds %d pairs, want at most %d", n, maxPairsPerDial)
	}
	if bytes > maxDialAlloc {
		t.Errorf("a warm dial allocated %d KiB, want at most %d KiB", bytes>>10, maxDialAlloc>>10)
	}
}
