package netstate

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/nat64"
)

// samePREF64s fails the test unless got equals want.
func samePREF64s(t *testing.T, what string, want, got []PREF64) {
	t.Helper()
	if !slices.Equal(want, got) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func TestPREF64Table(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r1 := netip.MustParseAddr("fe80::1%eth0")
	r2 := netip.MustParseAddr("fe80::2%eth0")
	rb := netip.MustParseAddr("fe80::b%eth1")
	p96 := netip.MustParsePrefix("2001:db8:6464::/96")
	p64 := netip.MustParsePrefix("2001:db8:64::/64")
	wkp := nat64.WellKnownPrefix
	opt := func(p netip.Prefix, d time.Duration) []nat64.Option { return []nat64.Option{{Prefix: p, Lifetime: d}} }
	var tab pref64Table
	if got := tab.current(t0); len(got) != 0 || !tab.nextExpiry().IsZero() {
		t.Fatalf("empty table: %v, %v", got, tab.nextExpiry())
	}
	tab.update(2, r1, opt(p96, 30*time.Minute), t0)
	tab.update(3, rb, opt(wkp, 16*time.Second), t0)
	want := []PREF64{
		{Index: 2, Prefix: p96, Source: PREF64RA, Router: r1, Expires: t0.Add(30 * time.Minute)},
		{Index: 3, Prefix: wkp, Source: PREF64RA, Router: rb, Expires: t0.Add(16 * time.Second)},
	}
	samePREF64s(t, "two links", want, tab.current(t0.Add(time.Second)))
	if got := tab.nextExpiry(); !got.Equal(t0.Add(16 * time.Second)) {
		t.Errorf("nextExpiry = %v", got)
	}
	// Link 3's prefix expires; link 2 hears of another prefix from another
	// router later: the newer one is the link's.
	tab.update(2, r2, opt(p64, time.Hour), t0.Add(10*time.Second))
	want = []PREF64{{Index: 2, Prefix: p64, Source: PREF64RA, Router: r2, Expires: t0.Add(10*time.Second + time.Hour)}}
	samePREF64s(t, "after expiry", want, tab.current(t0.Add(16*time.Second)))
	// r2 withdraws its prefix (lifetime 0): r1's is the link's again.
	tab.update(2, r2, opt(p64, 0), t0.Add(20*time.Second))
	want = []PREF64{{Index: 2, Prefix: p96, Source: PREF64RA, Router: r1, Expires: t0.Add(30 * time.Minute)}}
	samePREF64s(t, "after withdrawal", want, tab.current(t0.Add(20*time.Second)))
	// A refresh that shortens the lifetime is taken as sent.
	tab.update(2, r1, opt(p96, 8*time.Second), t0.Add(30*time.Second))
	if got := tab.current(t0.Add(38 * time.Second)); len(got) != 0 {
		t.Fatalf("after the shortened lifetime: %v", got)
	}
	tab.update(2, r1, opt(p96, time.Minute), t0)
	tab.forget(2)
	if got := tab.current(t0); len(got) != 0 {
		t.Fatalf("after forget: %v", got)
	}
}

// TestPREF64TableBound checks that RAs from a host flooding the link with
// PREF64 options leave at most maxRAEntries, the ones heard of last: the link's
// PREF64 is still the newest.
func TestPREF64TableBound(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	router := netip.MustParseAddr("fe80::66%eth0")
	var tab pref64Table
	const n = 20 * maxRAEntries
	var last netip.Prefix
	for i := range n {
		last = netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), 96)
		tab.update(2, router, []nat64.Option{{Prefix: last, Lifetime: 18 * time.Hour}}, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if len(tab.entries) > maxRAEntries {
		t.Errorf("%d entries after %d distinct options, want at most %d", len(tab.entries), n, maxRAEntries)
	}
	got := tab.current(t0.Add(n * time.Millisecond))
	if len(got) != 1 || got[0].Prefix != last {
		t.Errorf("current = %v, want the last prefix advertised, %v", got, last)
	}
}

// Ties (same arrival) go to the lowest router, then the lowest prefix.
func TestPREF64TableTies(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tab pref64Table
	a, b := netip.MustParsePrefix("2001:db8:1::/96"), netip.MustParsePrefix("2001:db8:2::/96")
	tab.update(1, netip.MustParseAddr("fe80::2"), []nat64.Option{{Prefix: a, Lifetime: time.Hour}}, t0)
	tab.update(1, netip.MustParseAddr("fe80::1"), []nat64.Option{{Prefix: b, Lifetime: time.Hour}, {Prefix: a, Lifetime: time.Hour}}, t0)
	got := tab.current(t0)
	if len(got) != 1 || got[0].Router != netip.MustParseAddr("fe80::1") || got[0].Prefix != a {
		t.Fatalf("got %+v; want fe80::1's %v", got, a)
	}
}

func TestPREF64For(t *testing.T) {
	p := PREF64{Index: 4, Prefix: nat64.WellKnownPrefix, Source: PREF64RA}
	s := &Snapshot{PREF64s: []PREF64{p}}
	if got, ok := s.PREF64For(4); !ok || got != p {
		t.Errorf("PREF64For(4) = %v, %v", got, ok)
	}
	if _, ok := s.PREF64For(5); ok {
		t.Error("PREF64For(5) found one")
	}
	if PREF64DNS.String() != "dns" || PREF64Config.String() != "config" || PREF64RA.String() != "ra" {
		t.Error("source names")
	}
}
