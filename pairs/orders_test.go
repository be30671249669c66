package pairs

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

func TestOrders(t *testing.T) {
	var o orders
	v1, v2 := testView(), testView()
	k := orderKey{network: "tcp", host: "h", port: 80}
	dsts := []netip.Addr{ip("2001:db8::1"), ip("192.0.2.1")}
	ps := []Pair{{Src: netip.MustParseAddrPort("[2001:db8::10]:0"), Dst: netip.MustParseAddrPort("[2001:db8::1]:80")}}
	storeVersion := &fakeVersions{version: 7, state: 3}
	if _, ok := o.get(k, dsts, v1, nil, storeVersion); ok {
		t.Fatal("hit in an empty cache")
	}
	o.put(k, dsts, orderBasis{view: v1.self, usesStore: true, version: 7, state: 3, made: time.Now()}, ps)
	got, ok := o.get(k, dsts, v1, nil, storeVersion)
	if !ok || len(got) != 1 || got[0] != ps[0] {
		t.Fatalf("get = %v, %v; want the order put", got, ok)
	}
	got[0].Reason = "changed by the caller"
	if again, _ := o.get(k, dsts, v1, nil, storeVersion); again[0].Reason != "" {
		t.Error("a caller's change to the order it got reached the cache")
	}
	for _, tt := range []struct {
		name string
		k    orderKey
		dsts []netip.Addr
		v    *view
	}{
		{"another query", orderKey{network: "tcp", host: "h", port: 443}, dsts, v1},
		{"other destinations", k, dsts[:1], v1},
		{"another view", k, dsts, v2},
	} {
		if _, ok := o.get(tt.k, tt.dsts, tt.v, nil, storeVersion); ok {
			t.Errorf("%s: hit", tt.name)
		}
	}
	storeVersion.version = 8 // only latencies moved
	if _, ok := o.get(k, dsts, v1, nil, storeVersion); !ok {
		t.Error("miss within latencyHold after only latencies moved")
	}
	o.put(k, dsts, orderBasis{view: v1.self, usesStore: true, version: 7, state: 3, made: time.Now().Add(-latencyHold)}, ps)
	if _, ok := o.get(k, dsts, v1, nil, storeVersion); ok {
		t.Error("hit latencyHold after latencies moved")
	}
	o.put(k, dsts, orderBasis{view: v1.self, usesStore: true, version: 8, state: 3, made: time.Now().Add(-time.Hour)}, ps)
	if _, ok := o.get(k, dsts, v1, nil, storeVersion); !ok {
		t.Error("an old order of an unchanged Store missed")
	}
	storeVersion.version, storeVersion.state = 9, 4 // a health, a failure, a verdict
	if _, ok := o.get(k, dsts, v1, nil, storeVersion); ok {
		t.Error("hit after the Store's state changed")
	}
	o.put(k, dsts, orderBasis{view: v1.self}, ps) // nothing the Store knows of
	if _, ok := o.get(k, dsts, v1, nil, noVersions{t}); !ok {
		t.Error("an order independent of the Store missed")
	}
	o.put(k, dsts, orderBasis{view: v1.self, until: time.Now().Add(-time.Millisecond)}, ps)
	if _, ok := o.get(k, dsts, v1, nil, storeVersion); ok {
		t.Error("hit after a route verdict expired")
	}
	o.put(k, dsts, orderBasis{view: v1.self, until: time.Now().Add(time.Hour)}, ps)
	if _, ok := o.get(k, dsts, v1, nil, storeVersion); !ok {
		t.Error("miss before a route verdict expired")
	}
}

// fakeVersions is a Store's versions, as set.
type fakeVersions struct{ version, state uint64 }

func (f *fakeVersions) Version() uint64      { return f.version }
func (f *fakeVersions) StateVersion() uint64 { return f.state }

// noVersions fails the test when asked.
type noVersions struct{ t *testing.T }

func (n noVersions) Version() uint64      { n.t.Error("Store version asked"); return 0 }
func (n noVersions) StateVersion() uint64 { n.t.Error("Store version asked"); return 0 }

// TestOrdersBound checks that the cache forgets everything past maxOrders.
func TestOrdersBound(t *testing.T) {
	var o orders
	v := testView()
	for i := range maxOrders + 1 {
		o.put(orderKey{port: uint16(i)}, nil, orderBasis{view: v.self}, nil)
	}
	n := 0
	o.m.Range(func(any, any) bool { n++; return true })
	if n > maxOrders {
		t.Errorf("%d orders remembered, want at most %d", n, maxOrders)
	}
}

// TestAttemptsReusesOrder checks what Attempts makes of a query asked again:
// the same order while nothing changed (without ranking again: the order
// remembered is what comes back), and a new one as soon as the Store learns
// something, the snapshot changes, or a negative route verdict expires.
func TestAttemptsReusesOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := fakeDNS{"server.test": {ip("2001:db8:2::1"), ip("198.51.100.1")}}
		s, w := newTestSelector(t, homeSnapshot(), dns)
		ctx := context.Background()
		q := Query{Network: "tcp", Host: "server.test", Port: 443}
		first, err := s.Attempts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		first[0].Reason = "changed by the caller"
		again, _ := s.Attempts(ctx, q)
		if again[0].Reason == "changed by the caller" || !slices.EqualFunc(first[1:], again[1:], pairEqual) {
			t.Fatalf("asked again: %v\nwant the same order as %v", again, first)
		}
		// What is remembered is what Attempts hands out: plant a marker.
		x, _ := s.orders.m.Load(orderKeyOf(q))
		x.(*orderEntry).pairs[0].Reason = "remembered"
		if ps, _ := s.Attempts(ctx, q); ps[0].Reason != "remembered" {
			t.Fatalf("asked again, Reason %q: ranked again though nothing changed", ps[0].Reason)
		}

		// The Store learns the GUA pair is fast: ranked again.
		s.Report(probe.Outcome{Path: probe.Path{Src: netip.MustParseAddrPort("[2001:db8:1::10]:0"), Dst: netip.MustParseAddrPort("[2001:db8:2::1]:443")},
			Result: probe.Success, Start: time.Now(), Duration: 3 * time.Millisecond})
		if ps, _ := s.Attempts(ctx, q); ps[0].Reason == "remembered" || ps[0].Basis != Measured {
			t.Fatalf("after a report: first pair %v %q; want the measured one", ps[0].Basis, ps[0].Reason)
		}

		// A new snapshot without the IPv4 address: ranked again.
		snap := homeSnapshot()
		snap.Generation = 2
		snap.Addrs = snap.Addrs[:3]
		w.Set(snap)
		for _, p := range must(s.Attempts(ctx, q)) {
			if p.Src.Addr().Is4() {
				t.Fatalf("after the IPv4 address went: still %v", p)
			}
		}

		// A refused route: the order without the pair holds for negativeTTL.
		refuse := true
		w.SetRouteFunc(func(src, dst netip.Addr) (netstate.Decision, error) {
			if refuse && dst.Is6() {
				return netstate.Decision{}, &netstate.RouteError{Src: src, Dst: dst, Kind: netstate.UnreachableErr}
			}
			return netstate.Decision{Index: 2, Interface: "eth0", Src: src}, nil
		})
		snap = homeSnapshot()
		snap.Generation = 3
		w.Set(snap)
		if ps := must(s.Attempts(ctx, q)); slices.ContainsFunc(ps, Pair.Is6) {
			t.Fatalf("IPv6 refused by the kernel, still %v", ps)
		}
		refuse = false
		time.Sleep(negativeTTL - time.Millisecond)
		if ps := must(s.Attempts(ctx, q)); slices.ContainsFunc(ps, Pair.Is6) {
			t.Fatalf("before the verdict expired: %v", ps)
		}
		time.Sleep(time.Millisecond)
		if ps := must(s.Attempts(ctx, q)); !slices.ContainsFunc(ps, Pair.Is6) {
			t.Fatalf("after the verdict expired, still no IPv6 pair: %v", ps)
		}
	})
}

func must(ps []Pair, err error) []Pair {
	if err != nil {
		panic(err)
	}
	return ps
}

func pairEqual(a, b Pair) bool { return reflect.DeepEqual(a, b) }

// TestAttemptsMiddleboxExpires checks that a remembered order does not outlive
// a middlebox verdict it holds (probe.MiddleboxHold).
func TestAttemptsMiddleboxExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestSelector(t, homeSnapshot(), nil)
		ctx := context.Background()
		q := Query{Network: "tcp", Host: "2001:db8:2::1", Port: 443, TLS: true}
		path := probe.Path{Src: netip.MustParseAddrPort("[2001:db8:1::10]:0"), Dst: netip.MustParseAddrPort("[2001:db8:2::1]:443")}
		s.Report(probe.Outcome{Path: path, Result: probe.Success, Start: time.Now(), Duration: 3 * time.Millisecond})
		s.Report(probe.Outcome{Path: path, Result: probe.Middlebox, Start: time.Now(), Duration: 3 * time.Millisecond})
		middlebox := func() bool {
			for _, p := range must(s.Attempts(ctx, q)) {
				if p.Src == path.Src {
					return p.Middlebox
				}
			}
			t.Fatal("no pair from the GUA")
			return false
		}
		fresh, remembered := middlebox(), middlebox() // ranked, then a remembered order
		if !fresh || !remembered {
			t.Fatal("no middlebox verdict right after the report")
		}
		time.Sleep(probe.MiddleboxHold + 3*time.Millisecond) // the verdict dates from the attempt's end
		if middlebox() {
			t.Error("middlebox verdict still there after MiddleboxHold")
		}
	})
}

// testView returns an empty view, its self set as newView sets it.
func testView() *view {
	v := &view{}
	v.self = weak.Make(v)
	return v
}

// TestOrdersKeepNoView checks that a remembered order does not keep the view
// it was made in alive: one dial per snapshot generation would otherwise keep
// every old view and its route cache (up to 16 MiB each) until the cache of
// orders is cleared.
func TestOrdersKeepNoView(t *testing.T) {
	var o orders
	k := orderKey{network: "tcp", host: "h", port: 80}
	o.put(k, nil, orderBasis{view: testView().self}, nil)
	runtime.GC()
	x, _ := o.m.Load(k)
	if x.(*orderEntry).basis.view.Value() != nil {
		t.Error("the remembered order keeps its view alive")
	}
}

// TestOrdersBounded: 200 names of 1,000 addresses each, dialed once: the
// racing orders remembered are bounded in pairs (maxOrderPairs), not only in
// names, so the retained heap stays within 32 MiB (it grew by 76 MiB when
// every order was kept whole).
func TestOrdersBounded(t *testing.T) {
	const hosts, per = 200, 1000
	dns := fakeDNS{}
	for h := range hosts {
		as := make([]netip.Addr, 0, per)
		for i := range per {
			as = append(as, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xee, byte(h >> 8), byte(h), 14: byte(i >> 8), 15: byte(i)}))
		}
		dns[fmt.Sprintf("h%d.test", h)] = as
	}
	sel, _ := newTestSelector(t, homeSnapshot(), dns)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for h := range hosts {
		if _, err := sel.Attempts(context.Background(), Query{Network: "tcp", Host: fmt.Sprintf("h%d.test", h), Port: 443}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	grew := (int64(m1.HeapAlloc) - int64(m0.HeapAlloc)) >> 20
	t.Logf("retained heap +%d MiB after %d names of %d addresses (order cache entries: %d)", grew, hosts, per, sel.orders.n.Load())
	if grew > 32 {
		t.Errorf("retained heap grew by %d MiB for %d names of %d addresses; want a bound (<= 32 MiB)", grew, hosts, per)
	}
	runtime.KeepAlive(sel)
}
