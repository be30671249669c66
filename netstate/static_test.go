package netstate

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// multihomed is a host with two uplinks and source-based policy routing, the shape
// the labs build: eth0 (ISP A, 192.0.2.0/24 and 2001:db8:a::/64) is the main
// default route; eth1 (ISP B, 198.51.100.0/24 and 2001:db8:b::/64) is selected by
// "from 198.51.100.0/24 lookup 101" and "from 2001:db8:b::/64 lookup 101".
func multihomed() *Snapshot {
	ip := netip.MustParseAddr
	pfx := netip.MustParsePrefix
	return &Snapshot{
		Generation: 7,
		Links: []Link{
			{Index: 1, Name: "lo", Up: true, Running: true, Loopback: true, MTU: 65536},
			{Index: 2, Name: "eth0", Up: true, Running: true, MTU: 1500},
			{Index: 3, Name: "eth1", Up: true, Running: true, MTU: 1500},
			{Index: 4, Name: "eth2", Up: false, MTU: 1500},
		},
		Addrs: []Addr{
			{IP: ip("192.0.2.10"), Bits: 24, Index: 2, Interface: "eth0", PreferredLifetime: Forever, ValidLifetime: Forever},
			{IP: ip("2001:db8:a::10"), Bits: 64, Index: 2, Interface: "eth0", PreferredLifetime: Forever, ValidLifetime: Forever},
			{IP: ip("2001:db8:a::99"), Bits: 64, Index: 2, Interface: "eth0", Flags: Tentative},
			{IP: ip("fe80::10%eth0"), Bits: 64, Index: 2, Interface: "eth0"},
			{IP: ip("198.51.100.10"), Bits: 24, Index: 3, Interface: "eth1"},
			{IP: ip("2001:db8:b::10"), Bits: 64, Index: 3, Interface: "eth1", Flags: Deprecated},
			{IP: ip("fe80::11%eth1"), Bits: 64, Index: 3, Interface: "eth1"},
			{IP: ip("10.9.9.9"), Bits: 24, Index: 4, Interface: "eth2"},
		},
		Routes: []Route{
			{Dst: pfx("0.0.0.0/0"), Gateway: ip("192.0.2.1"), Index: 2, Priority: 100},
			{Dst: pfx("0.0.0.0/0"), Gateway: ip("198.51.100.1"), Index: 3, Priority: 200},
			{Dst: pfx("192.0.2.0/24"), Index: 2, Src: ip("192.0.2.10")},
			{Dst: pfx("198.51.100.0/24"), Index: 3, Src: ip("198.51.100.10")},
			{Dst: pfx("203.0.113.0/25"), Type: Unreachable},
			{Dst: pfx("203.0.113.128/26"), Type: Prohibit},
			{Dst: pfx("203.0.113.192/26"), Type: Blackhole},
			{Dst: pfx("::/0"), Gateway: ip("fe80::1"), Index: 2, Priority: 1024},
			{Dst: pfx("2001:db8:a::/64"), Index: 2, Priority: 256},
			{Dst: pfx("2001:db8:b::/64"), Index: 3, Priority: 256},
			{Dst: pfx("fe80::/64"), Index: 2, Priority: 256},
			{Dst: pfx("fe80::/64"), Index: 3, Priority: 256},
			{Dst: pfx("0.0.0.0/0"), Gateway: ip("198.51.100.1"), Index: 3, Table: 101},
			{Dst: pfx("0.0.0.0/0"), Table: 101, Type: Unreachable, Priority: 4278198272},
			{Dst: pfx("::/0"), Gateway: ip("fe80::2"), Index: 3, Table: 101},
			{Dst: pfx("10.0.0.0/8"), Table: 102, Type: Throw},
		},
		Rules: []Rule{
			{Priority: 0, Table: 255},
			{Priority: 100, Table: mainTable, Suppress: true, SuppressPrefixLen: 0},
			{Priority: 200, Src: pfx("198.51.100.0/24"), Table: 101},
			{Priority: 300, Dst: pfx("10.0.0.0/8"), Table: 102},
			{Priority: 310, Dst: pfx("10.66.0.0/16"), Action: RuleProhibit},
			{Priority: 32766, Table: mainTable},
			{Priority: 32767, Table: 253},
			{Is6: true, Priority: 0, Table: 255},
			{Is6: true, Priority: 100, Table: mainTable, Suppress: true, SuppressPrefixLen: 0},
			{Is6: true, Priority: 200, Src: pfx("2001:db8:b::/64"), Table: 101},
			{Is6: true, Priority: 32766, Table: mainTable},
		},
	}
}

func TestStaticLookup(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		name     string
		src, dst string
		want     Decision
		wantKind RouteErrorKind // checked when want is zero
	}{
		{name: "main default v4", src: "192.0.2.10", dst: "8.8.8.8",
			want: Decision{Index: 2, Interface: "eth0", Gateway: ip("192.0.2.1"), Src: ip("192.0.2.10")}},
		{name: "policy-routed v4 source", src: "198.51.100.10", dst: "8.8.8.8",
			want: Decision{Index: 3, Interface: "eth1", Gateway: ip("198.51.100.1"), Src: ip("198.51.100.10")}},
		{name: "no source picks main and its preferred source", src: "", dst: "192.0.2.77",
			want: Decision{Index: 2, Interface: "eth0", Src: ip("192.0.2.10")}},
		{name: "on-link wins over policy table by suppress rule", src: "198.51.100.10", dst: "192.0.2.77",
			want: Decision{Index: 2, Interface: "eth0", Src: ip("198.51.100.10")}},
		{name: "policy-routed v6 source with link-local gateway", src: "2001:db8:b::10", dst: "2001:db8:ffff::1",
			want: Decision{Index: 3, Interface: "eth1", Gateway: ip("fe80::2%eth1"), Src: ip("2001:db8:b::10")}},
		{name: "main default v6 gateway gets zone", src: "2001:db8:a::10", dst: "2001:db8:ffff::1",
			want: Decision{Index: 2, Interface: "eth0", Gateway: ip("fe80::1%eth0"), Src: ip("2001:db8:a::10")}},
		{name: "link-local dst zone selects interface", src: "", dst: "fe80::99%eth1",
			want: Decision{Index: 3, Interface: "eth1", Src: ip("fe80::11%eth1")}},
		{name: "link-local dst numeric zone", src: "", dst: "fe80::99%2",
			want: Decision{Index: 2, Interface: "eth0", Src: ip("fe80::10%eth0")}},
		{name: "link-local src selects interface", src: "fe80::11%eth1", dst: "fe80::99",
			want: Decision{Index: 3, Interface: "eth1", Src: ip("fe80::11%eth1")}},
		{name: "local destination leaves by loopback", src: "", dst: "198.51.100.10",
			want: Decision{Index: 1, Interface: "lo", Src: ip("198.51.100.10")}},
		{name: "loopback destination", src: "", dst: "127.0.0.1",
			want: Decision{Index: 1, Interface: "lo", Src: ip("127.0.0.1")}},
		{name: "v4-mapped dst is unmapped", src: "192.0.2.10", dst: "::ffff:8.8.8.8",
			want: Decision{Index: 2, Interface: "eth0", Gateway: ip("192.0.2.1"), Src: ip("192.0.2.10")}},
		{name: "unreachable route", src: "192.0.2.10", dst: "203.0.113.1", wantKind: UnreachableErr},
		{name: "prohibit route", src: "192.0.2.10", dst: "203.0.113.130", wantKind: ProhibitedErr},
		{name: "blackhole route", src: "192.0.2.10", dst: "203.0.113.200", wantKind: BlackholeErr},
		{name: "main reject route beats the policy table", src: "198.51.100.10", dst: "203.0.113.1", wantKind: UnreachableErr},
		{name: "prohibit rule", src: "192.0.2.10", dst: "10.66.1.1", wantKind: ProhibitedErr},
		{name: "throw continues to main default", src: "192.0.2.10", dst: "10.1.1.1",
			want: Decision{Index: 2, Interface: "eth0", Gateway: ip("192.0.2.1"), Src: ip("192.0.2.10")}},
		{name: "unknown source", src: "192.0.2.99", dst: "8.8.8.8", wantKind: BadSource},
		{name: "tentative source", src: "2001:db8:a::99", dst: "2001:db8:ffff::1", wantKind: BadSource},
		{name: "family mismatch", src: "192.0.2.10", dst: "2001:db8:ffff::1", wantKind: BadSource},
		{name: "link-local src on other zone", src: "fe80::11%eth0", dst: "fe80::99", wantKind: BadSource},
		{name: "unknown zone", src: "", dst: "fe80::99%wlan9", wantKind: NoRoute},
		{name: "invalid dst", src: "", dst: "", wantKind: NoRoute},
		{name: "unspecified dst", src: "", dst: "0.0.0.0", wantKind: NoRoute},
	}
	st := NewStatic(multihomed())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src, dst netip.Addr
			if tt.src != "" {
				src = ip(tt.src)
			}
			if tt.dst != "" {
				dst = ip(tt.dst)
			}
			got, err := st.RouteFor(context.Background(), src, dst)
			if tt.want != (Decision{}) {
				if err != nil || got != tt.want {
					t.Fatalf("RouteFor(%v, %v) = %+v, %v; want %+v", src, dst, got, err, tt.want)
				}
				return
			}
			var re *RouteError
			if !errors.As(err, &re) || re.Kind != tt.wantKind {
				t.Fatalf("RouteFor(%v, %v) = %+v, %v; want RouteError %v", src, dst, got, err, tt.wantKind)
			}
			if re.Unwrap() != nil {
				t.Errorf("Static RouteError unwraps to %v, want nil", re.Unwrap())
			}
		})
	}
}

func TestStaticNoRules(t *testing.T) {
	s := multihomed()
	s.Rules = nil
	// Without rules only the main table counts: the ISP B source leaves by ISP A.
	d, err := NewStatic(s).RouteFor(context.Background(), netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("8.8.8.8"))
	if err != nil || d.Index != 2 {
		t.Fatalf("RouteFor = %+v, %v; want eth0", d, err)
	}
	// A host with no routes at all.
	_, err = NewStatic(nil).RouteFor(context.Background(), netip.Addr{}, netip.MustParseAddr("8.8.8.8"))
	var re *RouteError
	if !errors.As(err, &re) || re.Kind != NoRoute {
		t.Fatalf("empty host: err = %v, want NoRoute", err)
	}
}

func TestStaticSetRouteFunc(t *testing.T) {
	st := NewStatic(multihomed())
	want := Decision{Index: 42, Interface: "fake0"}
	st.SetRouteFunc(func(src, dst netip.Addr) (Decision, error) { return want, nil })
	got, err := st.RouteFor(context.Background(), netip.Addr{}, netip.MustParseAddr("203.0.113.1"))
	if err != nil || got != want {
		t.Fatalf("with route func: %+v, %v", got, err)
	}
	st.SetRouteFunc(nil)
	if _, err := st.RouteFor(context.Background(), netip.Addr{}, netip.MustParseAddr("203.0.113.1")); err == nil {
		t.Fatal("after SetRouteFunc(nil): want the snapshot's unreachable route")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.RouteFor(ctx, netip.Addr{}, netip.MustParseAddr("8.8.8.8")); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled ctx: err = %v", err)
	}
}

func TestStaticSetAndSubscribe(t *testing.T) {
	in := multihomed()
	st := NewStatic(in)
	if g := st.Snapshot().Generation; g != 7 {
		t.Fatalf("initial generation %d, want 7", g)
	}
	var a, b []uint64
	unsubA := st.Subscribe(func(s *Snapshot) { a = append(a, s.Generation) })
	st.Subscribe(func(s *Snapshot) { b = append(b, s.Generation) })
	st.Set(&Snapshot{Generation: 1000})
	if in.Generation != 7 {
		t.Errorf("Set or NewStatic modified the caller's snapshot")
	}
	unsubA()
	unsubA() // idempotent
	st.Set(nil)
	if got := st.Snapshot(); got == nil || got.Generation != 9 || len(got.Links) != 0 {
		t.Fatalf("Snapshot after Set(nil) = %+v", got)
	}
	if len(a) != 1 || a[0] != 8 {
		t.Errorf("first subscriber saw %v, want [8]", a)
	}
	if len(b) != 2 || b[0] != 8 || b[1] != 9 {
		t.Errorf("second subscriber saw %v, want [8 9]", b)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st.Set(in)
	if len(b) != 2 {
		t.Errorf("subscriber called after Close: %v", b)
	}
	if st.Snapshot().Generation != 10 {
		t.Errorf("Set after Close did not replace the snapshot")
	}
}

func TestStaticUnsubscribeFromCallback(t *testing.T) {
	st := NewStatic(nil)
	calls := 0
	var unsub func()
	unsub = st.Subscribe(func(*Snapshot) {
		calls++
		unsub()
		_ = st.Snapshot() // must not deadlock
	})
	st.Set(nil)
	st.Set(nil)
	if calls != 1 {
		t.Fatalf("callback ran %d times, want 1", calls)
	}
}

// TestStaticConcurrent checks that concurrent Sets reach a subscriber in
// generation order, one at a time.
func TestStaticConcurrent(t *testing.T) {
	st := NewStatic(nil)
	var (
		mu   sync.Mutex
		seen []uint64
	)
	st.Subscribe(func(s *Snapshot) {
		mu.Lock()
		seen = append(seen, s.Generation)
		mu.Unlock()
	})
	const writers, sets = 4, 50
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range sets {
				st.Set(&Snapshot{Taken: time.Unix(1, 0)})
				_ = st.Snapshot()
				_, _ = st.RouteFor(context.Background(), netip.Addr{}, netip.MustParseAddr("192.0.2.1"))
			}
		})
	}
	wg.Wait()
	if len(seen) != writers*sets {
		t.Fatalf("saw %d snapshots, want %d", len(seen), writers*sets)
	}
	for i, g := range seen {
		if g != uint64(i+1) {
			t.Fatalf("snapshot %d has generation %d, want %d", i, g, i+1)
		}
	}
}

// TestStaticUnreachableDefaultStopsFallThrough checks the lab's guard: when the
// per-uplink table has only its unreachable default left, a policy-routed source
// fails instead of falling through to main and leaving by the other uplink.
func TestStaticUnreachableDefaultStopsFallThrough(t *testing.T) {
	s := multihomed()
	var routes []Route
	for _, r := range s.Routes {
		if !(r.Table == 101 && r.Type == Unicast && r.Dst.Addr().Is4()) {
			routes = append(routes, r)
		}
	}
	s.Routes = routes
	_, err := NewStatic(s).RouteFor(context.Background(), netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("8.8.8.8"))
	var re *RouteError
	if !errors.As(err, &re) || re.Kind != UnreachableErr {
		t.Fatalf("err = %v, want unreachable", err)
	}
}

// The same link-local address on two interfaces (as on VLANs of one card, or in the
// project's lab) is told apart by its zone.
func TestSameLinkLocalOnTwoInterfaces(t *testing.T) {
	ip, pfx := netip.MustParseAddr, netip.MustParsePrefix
	snap := &Snapshot{
		Links: []Link{
			{Index: 2, Name: "eth0", Up: true, Running: true},
			{Index: 3, Name: "eth1", Up: true, Running: true},
		},
		Addrs: []Addr{
			{IP: ip("fe80::100%eth0"), Bits: 64, Index: 2, Interface: "eth0"},
			{IP: ip("fe80::100%eth1"), Bits: 64, Index: 3, Interface: "eth1"},
		},
		Routes: []Route{
			{Dst: pfx("fe80::/64"), Index: 2, Priority: 256},
			{Dst: pfx("fe80::/64"), Index: 3, Priority: 256},
		},
	}
	for _, tt := range []struct {
		src, dst  string
		wantIndex int
		wantOK    bool
	}{
		{"fe80::100%eth0", "fe80::a%eth0", 2, true},
		{"fe80::100%eth1", "fe80::b%eth1", 3, true},
		{"fe80::100%3", "fe80::b%eth1", 3, true},
		{"fe80::100%eth9", "fe80::b%eth1", 0, false},
	} {
		a, ok := snap.Addr(ip(tt.src))
		if ok != tt.wantOK || a.Index != tt.wantIndex {
			t.Errorf("Addr(%s) = index %d, %v; want %d, %v", tt.src, a.Index, ok, tt.wantIndex, tt.wantOK)
		}
		if !tt.wantOK {
			continue
		}
		d, err := snap.Lookup(ip(tt.src), ip(tt.dst))
		if err != nil || d.Index != tt.wantIndex {
			t.Errorf("Lookup(%s, %s) = %+v, %v; want index %d", tt.src, tt.dst, d, err, tt.wantIndex)
		}
	}
	if a, ok := snap.Addr(ip("fe80::100")); !ok || a.Index != 2 {
		t.Errorf("Addr without zone = %+v, %v; want the first (eth0)", a, ok)
	}
}
