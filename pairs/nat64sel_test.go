package pairs

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

var labPREF64 = netip.MustParsePrefix("2001:db8:6464::/96")

// routedNAT64Snapshot is nat64Snapshot with the lab's routing: a default route
// per family and link in a table per link, selected by source (eth0: table
// 101, IPv4 and IPv6; eth1: table 102, IPv6 only), main holding eth0's as the
// preferred defaults. With pref, eth1's RA gave it the lab's NAT64 prefix.
func routedNAT64Snapshot(pref bool) *netstate.Snapshot {
	s := nat64Snapshot()
	s.Addrs = s.Addrs[:5] // no link-local IPv4 on eth1, no eth2
	s.Links = s.Links[:2]
	rt := func(dst, gw string, index int, table, metric uint32) netstate.Route {
		r := route(dst, gw, index)
		r.Table, r.Priority = table, metric
		return r
	}
	s.Routes = []netstate.Route{
		rt("2001:db8:a:1::/64", "", 2, 254, 256), rt("10.1.0.0/24", "", 2, 254, 0),
		rt("2001:db8:b:1::/64", "", 3, 254, 256),
		rt("::/0", "fe80::a%eth0", 2, 254, 100), rt("0.0.0.0/0", "10.1.0.1", 2, 254, 100),
		rt("::/0", "fe80::b%eth1", 3, 254, 200),
		rt("::/0", "fe80::a%eth0", 2, 101, 100), rt("0.0.0.0/0", "10.1.0.1", 2, 101, 100),
		rt("::/0", "fe80::b%eth1", 3, 102, 200),
	}
	rule := func(src string, table uint32, prio uint32) netstate.Rule {
		p := netip.MustParsePrefix(src)
		return netstate.Rule{Is6: p.Addr().Is6(), Priority: prio, Src: p, Table: table}
	}
	s.Rules = []netstate.Rule{
		{Is6: true, Priority: 1000, Table: 254, Suppress: true}, {Is6: false, Priority: 1000, Table: 254, Suppress: true},
		rule("2001:db8:a::/48", 101, 1010), rule("10.1.0.0/24", 101, 1011), rule("2001:db8:b::/48", 102, 1020),
		{Is6: true, Priority: 32766, Table: 254}, {Is6: false, Priority: 32766, Table: 254},
	}
	s.Gateway4, s.Gateway6 = ip("10.1.0.1"), ip("fe80::a%eth0")
	if pref {
		s.PREF64s = []netstate.PREF64{{Index: 3, Prefix: labPREF64, Source: netstate.PREF64RA, Router: ip("fe80::b%eth1")}}
	}
	return s
}

// ipv6Only drops the IPv4 address and routes of s.
func ipv6Only(s *netstate.Snapshot) *netstate.Snapshot {
	s.Addrs = slices.DeleteFunc(s.Addrs, func(a netstate.Addr) bool { return a.IP.Is4() })
	s.Routes = slices.DeleteFunc(s.Routes, func(r netstate.Route) bool { return r.Dst.Addr().Is4() })
	s.Gateway4 = netip.Addr{}
	return s
}

// pairText is "src -> dst [synthesized v4]" for comparing rankings.
func pairText(ps []Pair) []string {
	var out []string
	for _, p := range ps {
		s := p.Src.Addr().String() + " -> " + p.Dst.Addr().String()
		if p.Synthesized.IsValid() {
			s += " [" + p.Synthesized.String() + "]"
		}
		out = append(out, s)
	}
	return out
}

func TestNAT64Synthesis(t *testing.T) {
	const (
		gua0, gua1, dep1 = "2001:db8:a:1::100", "2001:db8:b:1::100", "2001:db8:b:1::200"
		v4               = "10.1.0.100"
		synth            = "2001:db8:6464::c000:20a"
	)
	dns := fakeDNS{
		"aonly.test": {ip("192.0.2.10")},
		// A DNS64 answer under eth1's prefix beside the real one, and the A.
		"mixed.test": {ip(synth), ip("2001:db8:5::10"), ip("192.0.2.10")},
		"host.test":  {ip("127.0.0.1")},
	}
	for _, tc := range []struct {
		name    string
		snap    *netstate.Snapshot
		network string
		host    string
		want    []string
	}{
		{"ipv6-only, literal", ipv6Only(routedNAT64Snapshot(true)), "tcp", "192.0.2.10",
			[]string{gua1 + " -> " + synth + " [192.0.2.10]", dep1 + " -> " + synth + " [192.0.2.10]"}},
		{"ipv6-only, A-only name", ipv6Only(routedNAT64Snapshot(true)), "tcp", "aonly.test",
			[]string{gua1 + " -> " + synth + " [192.0.2.10]", dep1 + " -> " + synth + " [192.0.2.10]"}},
		{"dual-stack: native where IPv4 works, translated where only that does", routedNAT64Snapshot(true), "tcp", "192.0.2.10",
			[]string{v4 + " -> 192.0.2.10", gua1 + " -> " + synth + " [192.0.2.10]", dep1 + " -> " + synth + " [192.0.2.10]"}},
		{"dns64 answer: one server, real IPv6 first", routedNAT64Snapshot(true), "tcp", "mixed.test",
			[]string{gua0 + " -> 2001:db8:5::10", gua1 + " -> 2001:db8:5::10", v4 + " -> 192.0.2.10",
				gua1 + " -> " + synth + " [192.0.2.10]", dep1 + " -> 2001:db8:5::10", dep1 + " -> " + synth + " [192.0.2.10]"}},
		{"tcp6 keeps the dns64 answer as it is", ipv6Only(routedNAT64Snapshot(true)), "tcp6", "mixed.test",
			[]string{gua0 + " -> 2001:db8:5::10", gua0 + " -> " + synth, gua1 + " -> 2001:db8:5::10", gua1 + " -> " + synth,
				dep1 + " -> 2001:db8:5::10", dep1 + " -> " + synth}},
		{"no prefix, no pair", ipv6Only(routedNAT64Snapshot(false)), "tcp", "192.0.2.10", nil},
		{"tcp4: never synthesized", ipv6Only(routedNAT64Snapshot(true)), "tcp4", "192.0.2.10", nil},
		{"host-scoped: never synthesized", ipv6Only(routedNAT64Snapshot(true)), "tcp", "169.254.1.1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestSelector(t, tc.snap, dns)
			ps, err := s.ranked(context.Background(), Query{Network: tc.network, Host: tc.host, Port: 80})
			if tc.want == nil {
				if err == nil {
					t.Fatalf("got %v; want no pair", pairText(ps))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := pairText(ps); !slices.Equal(got, tc.want) {
				t.Errorf("pairs:\n got %q\nwant %q", got, tc.want)
			}
			for _, p := range ps {
				if p.Synthesized.IsValid() && (p.Interface != "eth1" || !strings.Contains(p.Reason, "default nat64 206ms")) {
					t.Errorf("synthesized pair %v via %s, reason %q", p.Dst, p.Interface, p.Reason)
				}
			}
		})
	}
}

// Without an IPv4 route and a prefix, the error says so.
func TestNAT64NoPrefixReason(t *testing.T) {
	s, _ := newTestSelector(t, ipv6Only(routedNAT64Snapshot(false)), nil)
	_, err := s.Get(context.Background(), "192.0.2.10", 80)
	npe, ok := err.(*NoPairError)
	if !ok || len(npe.Reasons) != 1 || npe.Reasons[0] != "192.0.2.10: no IPv4 source, and no NAT64 prefix (PREF64) to reach it over IPv6" {
		t.Fatalf("err = %v", err)
	}
}

// The configured prefix serves a link that has neither an RA's nor DNS's.
func TestNAT64Configured(t *testing.T) {
	s, _ := newTestSelector(t, ipv6Only(routedNAT64Snapshot(false)), nil,
		WithPREF64(ConfiguredPREF64{Interface: "eth1", Prefix: netip.MustParsePrefix("64:ff9b::/96")},
			ConfiguredPREF64{Prefix: netip.MustParsePrefix("2001:db8::/33")})) // not a NAT64 prefix: ignored
	ps, err := s.Get(context.Background(), "198.41.0.4", 80)
	if err != nil || len(ps) == 0 || ps[0].Dst.Addr() != ip("64:ff9b::c629:4") || ps[0].Synthesized != ip("198.41.0.4") {
		t.Fatalf("Get = %v, %v", pairText(ps), err)
	}
}

// dns64Resolver answers ipv4only.arpa as a DNS64 with the lab's prefix after
// delay, and names from names at once.
func dns64Resolver(delay time.Duration, names fakeDNS) lookupFunc {
	return func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		if host != "ipv4only.arpa." {
			return names.lookup(ctx, network, host)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if network != "ip6" {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return []netip.Addr{ip("2001:db8:6464::c000:aa"), ip("2001:db8:6464::c000:ab")}, nil
	}
}

// On an IPv6-only link without an RA prefix, RFC 7050 finds it: a dial to an
// IPv4 literal waits for that lookup; a dial to a name with IPv6 addresses does
// not, and the prefix is known afterwards.
func TestNAT64FromDNS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		names := fakeDNS{"v6.test": {ip("2001:db8:5::10")}}
		w := netstate.NewStatic(ipv6Only(routedNAT64Snapshot(false)))
		defer w.Close()
		s, err := New(WithWatcher(w), WithoutProbing(), withLookup(dns64Resolver(40*time.Millisecond, names)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		start := time.Now()
		ps, err := s.Get(ctx, "v6.test", 80)
		if err != nil || len(ps) == 0 || time.Since(start) != 0 {
			t.Fatalf("name with AAAA: %v, %v after %v; want pairs at once", pairText(ps), err, time.Since(start))
		}
		ps, err = s.Get(ctx, "192.0.2.10", 80)
		if err != nil || len(ps) == 0 || ps[0].Dst.Addr() != ip("2001:db8:6464::c000:20a") {
			t.Fatalf("literal: %v, %v", pairText(ps), err)
		}
		if d := time.Since(start); d != 40*time.Millisecond {
			t.Errorf("the literal waited until %v; want the lookup's 40ms (started by the first Get)", d)
		}
		// Known now: no more waiting, and de-synthesis works.
		start = time.Now()
		if _, err := s.Get(ctx, "192.0.2.11", 80); err != nil || time.Since(start) != 0 {
			t.Fatalf("second literal: %v after %v", err, time.Since(start))
		}
	})
}

func TestNAT64Status(t *testing.T) {
	s, w := newTestSelector(t, ipv6Only(routedNAT64Snapshot(false)), nil)
	if st := s.Status(); st.NAT64 || st.PREF64.IsValid() || st.NAT64Links != nil {
		t.Fatalf("without a prefix: %+v", st)
	}
	snap := routedNAT64Snapshot(true)
	snap.Generation = 2
	w.Set(snap)
	st := s.Status()
	want := probe.NAT64Link{Interface: "eth1", Prefix: labPREF64, Source: "ra", Router: ip("fe80::b%eth1")}
	if !st.NAT64 || st.PREF64 != labPREF64 || st.PREF64Source != "ra" || len(st.NAT64Links) != 1 || st.NAT64Links[0] != want {
		t.Fatalf("with the RA's prefix: NAT64 %v PREF64 %v from %q, links %+v", st.NAT64, st.PREF64, st.PREF64Source, st.NAT64Links)
	}
}

// A Stream (the dialer's path for names) synthesizes too: an A-only name on an
// IPv6-only host with an RA prefix, and a DNS64 answer counted as its IPv4.
func TestNAT64Stream(t *testing.T) {
	dns := fakeDNS{
		"aonly.test": {ip("192.0.2.10")},
		"mixed.test": {ip("2001:db8:6464::c000:20a"), ip("2001:db8:5::10"), ip("192.0.2.10")},
	}
	s, _ := newTestSelector(t, ipv6Only(routedNAT64Snapshot(true)), dns)
	for host, want := range map[string][]string{
		"aonly.test": {"2001:db8:b:1::100 [2001:db8:6464::c000:20a]:80", "2001:db8:b:1::200 [2001:db8:6464::c000:20a]:80"},
		// The translated pair takes the IPv4 turn (see TestOrderSynthesizedIsIPv4).
		"mixed.test": {"2001:db8:a:1::100 [2001:db8:5::10]:80", "2001:db8:b:1::100 [2001:db8:6464::c000:20a]:80",
			"2001:db8:b:1::100 [2001:db8:5::10]:80", "2001:db8:b:1::200 [2001:db8:6464::c000:20a]:80",
			"2001:db8:b:1::200 [2001:db8:5::10]:80"},
	} {
		st, err := s.Stream(context.Background(), Query{Network: "tcp", Host: host, Port: 80})
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		awaitDone(st)
		got := take(st)
		st.Close()
		if !slices.Equal(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", host, got, want)
		}
	}
}

// A Stream waits for the RFC 7050 discovery as for an answer, when it has no
// pair without it; a name with IPv6 addresses starts at once.
func TestNAT64StreamDNS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		names := fakeDNS{"v6.test": {ip("2001:db8:5::10")}, "aonly.test": {ip("192.0.2.10")}}
		w := netstate.NewStatic(ipv6Only(routedNAT64Snapshot(false)))
		defer w.Close()
		s, err := New(WithWatcher(w), WithoutProbing(), withLookup(dns64Resolver(40*time.Millisecond, names)))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		start := time.Now()
		st, err := s.Stream(context.Background(), Query{Network: "tcp", Host: "v6.test", Port: 80})
		if err != nil || time.Since(start) != 0 {
			t.Fatalf("v6.test: %v after %v; want a Stream at once", err, time.Since(start))
		}
		st.Close()
		st, err = s.Stream(context.Background(), Query{Network: "tcp", Host: "aonly.test", Port: 80})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		p, ok := st.Next()
		if !ok || p.Synthesized != ip("192.0.2.10") || time.Since(start) != 40*time.Millisecond {
			t.Fatalf("aonly.test: %+v, %v after %v; want a synthesized pair after the 40ms discovery", p, ok, time.Since(start))
		}
	})
}

// Suspend stops an RFC 7050 lookup under way (it belongs to the engine), so
// that nothing of the Selector runs afterwards; the next need looks again.
func TestNAT64SuspendStopsLookup(t *testing.T) {
	var calls, running atomic.Int32
	hang := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		calls.Add(1)
		running.Add(1)
		defer running.Add(-1)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	w := netstate.NewStatic(ipv6Only(routedNAT64Snapshot(false)))
	defer w.Close()
	s, err := New(WithWatcher(w), WithoutProbing(), withLookup(hang))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	others := goleak.IgnoreCurrent()
	get := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		s.Get(ctx, "192.0.2.10", 80) // waits for the lookup until ctx ends; the lookup goes on
	}
	get()
	if running.Load() != 1 {
		t.Fatal("no RFC 7050 lookup under way")
	}
	s.Suspend()
	if running.Load() != 0 {
		t.Fatal("the RFC 7050 lookup still runs after Suspend")
	}
	if err := goleak.Find(others); err != nil {
		t.Fatalf("after Suspend: %v", err)
	}
	get()
	if n := calls.Load(); n != 2 {
		t.Errorf("%d lookups; want 2 (the one Suspend cut short is made again)", n)
	}
}

// failingDNS64Selector returns a Selector on an IPv6-only network whose RFC 7050
// lookup fails while failing is set, then finds the NAT64 prefix; both.test has
// an AAAA and an A answer, d64.test a DNS64 answer (AAAA under the prefix) and
// an A answer. It is closed when the test ends.
func failingDNS64Selector(t *testing.T) (*Selector, *atomic.Bool) {
	names := fakeDNS{"both.test": {ip("2001:db8:5::10"), ip("192.0.2.10")},
		"d64.test": {ip("2001:db8:6464::c000:20a"), ip("192.0.2.10")}}
	failing := new(atomic.Bool)
	failing.Store(true)
	found := dns64Resolver(0, names)
	lookup := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		if host == "ipv4only.arpa." && failing.Load() {
			return nil, &net.DNSError{Err: "server misbehaving", Name: host, IsTemporary: true}
		}
		return found(ctx, network, host)
	}
	w := netstate.NewStatic(ipv6Only(routedNAT64Snapshot(false)))
	t.Cleanup(func() { w.Close() })
	s, err := New(WithWatcher(w), WithoutProbing(), withLookup(lookup))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, failing
}

// A racing order made while the RFC 7050 lookup had failed is not handed out
// after the lookup, made again, found the prefix (which is not in the view):
// a remembered order carries the answered lookup it was made with.
func TestNAT64AttemptsAfterLookupRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, failing := failingDNS64Selector(t)
		q := Query{Network: "tcp", Host: "both.test", Port: 80}
		ps, err := s.Attempts(context.Background(), q)
		if err != nil || slices.ContainsFunc(ps, func(p Pair) bool { return p.Synthesized.IsValid() }) {
			t.Fatalf("while the lookup fails: %v, %v; want the IPv6 pairs alone", pairText(ps), err)
		}
		failing.Store(false)
		time.Sleep(dns64Retry + time.Second)
		s.Attempts(context.Background(), q) // starts the lookup again
		synctest.Wait()
		ps, err = s.Attempts(context.Background(), q)
		if err != nil || !slices.ContainsFunc(ps, func(p Pair) bool { return p.Synthesized == ip("192.0.2.10") }) {
			t.Errorf("after the lookup found the prefix: %v, %v; want a pair to 192.0.2.10 through it", pairText(ps), err)
		}
	})
}

// An order made after the RFC 7050 lookup failed is not handed out once that
// failure is old enough for the lookup to be made again: the next Attempts
// looks again and finds the prefix.
func TestNAT64AttemptsAfterFailedLookupAged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, failing := failingDNS64Selector(t)
		q := Query{Network: "tcp", Host: "both.test", Port: 80}
		for range 2 { // the second is made after the failed lookup ended
			if _, err := s.Attempts(context.Background(), q); err != nil {
				t.Fatal(err)
			}
		}
		failing.Store(false)
		time.Sleep(dns64Retry + time.Second)
		ps, err := s.Attempts(context.Background(), q)
		if err != nil || !slices.ContainsFunc(ps, func(p Pair) bool { return p.Synthesized == ip("192.0.2.10") }) {
			t.Errorf("after the failure aged: %v, %v; want a pair to 192.0.2.10 through the prefix", pairText(ps), err)
		}
	})
}

// A pair through a NAT64 inherits no latency from another IPv4 destination
// measured through it (NearbyPrefix sees only the prefix of a synthesized
// address): until measured itself it keeps its default, after native IPv4.
func TestNAT64InheritsNothing(t *testing.T) {
	s, _ := newTestSelector(t, routedNAT64Snapshot(true), nil)
	k := &fakeKnowledge{pairs: map[[2]netip.Addr]probe.PairStats{
		{ip("2001:db8:b:1::100"), ip("2001:db8:6464::c633:6401")}: srtt(30 * time.Millisecond), // 198.51.100.1 through the NAT64
	}, health: map[netip.Addr]probe.Health{}}
	ps, _ := s.rankWith(context.Background(), s.watcher(), Query{Network: "tcp", Host: "192.0.2.10", Port: 80}, []netip.Addr{ip("192.0.2.10")}, k, new(workspace))
	if len(ps) == 0 || ps[0].Synthesized.IsValid() {
		t.Fatalf("ranked %v; want the native IPv4 pair first", pairText(ps))
	}
	for _, p := range ps {
		if p.Synthesized.IsValid() && p.Basis != Assumed {
			t.Errorf("%v→%v: basis %v, latency %v; want the NAT64 default, assumed", p.Src, p.Dst, p.Basis, p.Latency)
		}
	}
}

// A link with a NAT64 prefix and an IPv4 source whose route to the
// destination leaves by another link (no IPv4 route of its own) still gets
// the pairs through its NAT64: its native pair does not leave by it.
func TestNAT64BesideMismatchedIPv4(t *testing.T) {
	snap := routedNAT64Snapshot(true)
	snap.Addrs = append(snap.Addrs, addr("192.168.5.5/24", 3, "eth1"))
	snap.Routes = append(snap.Routes, route("192.168.5.0/24", "", 3))
	s, _ := newTestSelector(t, snap, nil)
	ps, _ := s.rankWith(context.Background(), s.watcher(), Query{Network: "tcp", Host: "192.0.2.10", Port: 80}, []netip.Addr{ip("192.0.2.10")}, &fakeKnowledge{}, new(workspace))
	if !slices.Contains(pairText(ps), "2001:db8:b:1::100 -> 2001:db8:6464::c000:20a [192.0.2.10]") {
		t.Errorf("ranked %q; want eth1's pairs through its NAT64", pairText(ps))
	}
}

// A NAT64 takes global and unique local sources alike, whatever space its
// prefix is in: a ULA prefix gets pairs from global sources, and unique local
// sources get pairs through a NAT64 where NPTv6 was tried and not seen.
func TestNAT64SourceClasses(t *testing.T) {
	v4 := []netip.Addr{ip("192.0.2.10")}
	q := Query{Network: "tcp", Host: "192.0.2.10", Port: 80}
	t.Run("ULA prefix", func(t *testing.T) {
		snap := ipv6Only(routedNAT64Snapshot(true))
		snap.PREF64s[0].Prefix = netip.MustParsePrefix("fd64::/96")
		s, _ := newTestSelector(t, snap, nil)
		ps, _ := s.rankWith(context.Background(), s.watcher(), q, v4, &fakeKnowledge{}, new(workspace))
		if !slices.Contains(pairText(ps), "2001:db8:b:1::100 -> fd64::c000:20a [192.0.2.10]") {
			t.Errorf("ranked %q; want 2001:db8:b:1::100 -> fd64::c000:20a through the NAT64", pairText(ps))
		}
	})
	t.Run("ULA sources, NPTv6 tried and not seen", func(t *testing.T) {
		snap := ipv6Only(routedNAT64Snapshot(true))
		for i, a := range snap.Addrs {
			if a.Index == 3 && a.IP.Is6() && !a.IP.IsLinkLocalUnicast() {
				b := a.IP.As16()
				b[0], b[1], b[2], b[3] = 0xfd, 0, 0, 0 // 2001:db8:b:1::x becomes fd00:0:b:1::x
				snap.Addrs[i].IP = netip.AddrFrom16(b)
			}
		}
		snap.Rules = append(snap.Rules, netstate.Rule{Is6: true, Priority: 1021, Src: netip.MustParsePrefix("fd00:0:b::/48"), Table: 102})
		s, _ := newTestSelector(t, snap, nil)
		k := &fakeKnowledge{tr: probe.Translators{NPTv6Tried: true}}
		ps, _ := s.rankWith(context.Background(), s.watcher(), q, v4, k, new(workspace))
		if !slices.ContainsFunc(ps, func(p Pair) bool { return p.Src.Addr().Is6() && p.Synthesized == v4[0] }) {
			t.Errorf("ranked %q; want the unique local sources' pairs through the NAT64", pairText(ps))
		}
	})
}

// The first Get of a DNS64-synthesized name on an IPv6-only link whose prefix
// only the RFC 7050 discovery gives has each path once: the AAAA answer under
// the prefix found meanwhile is its A answer, not a second destination.
func TestNAT64FirstGetNoDuplicates(t *testing.T) {
	names := fakeDNS{"d64.test": {ip("2001:db8:6464::c000:20a"), ip("192.0.2.10")}}
	w := netstate.NewStatic(ipv6Only(routedNAT64Snapshot(false)))
	defer w.Close()
	s, err := New(WithWatcher(w), WithoutProbing(), withLookup(dns64Resolver(0, names)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 2 {
		ps, err := s.Get(context.Background(), "d64.test", 80)
		if err != nil {
			t.Fatal(err)
		}
		if dup, ok := twice(ps); ok {
			t.Fatalf("Get %d: %v→%v twice in %v", i+1, dup.Src, dup.Dst, pairText(ps))
		}
		for _, p := range ps {
			if !p.Synthesized.IsValid() {
				t.Errorf("Get %d: %v→%v not marked as through the NAT64", i+1, p.Src, p.Dst)
			}
		}
	}
}

// A Get after a Suspend, when the failed RFC 7050 lookup has aged meanwhile,
// has each path once too: the lookup made again runs before the answers are
// taken apart, not after.
func TestNAT64GetAfterSuspendNoDuplicates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, failing := failingDNS64Selector(t)
		if _, err := s.Get(context.Background(), "d64.test", 80); err != nil {
			t.Fatal(err)
		}
		failing.Store(false)
		s.Suspend()
		time.Sleep(dns64Retry + time.Second)
		ps, err := s.Get(context.Background(), "d64.test", 80)
		if err != nil {
			t.Fatal(err)
		}
		if dup, ok := twice(ps); ok {
			t.Fatalf("%v→%v twice in %v", dup.Src, dup.Dst, pairText(ps))
		}
	})
}

// twice returns a pair of ps whose source and destination an earlier one
// has too.
func twice(ps []Pair) (Pair, bool) {
	seen := map[[2]netip.AddrPort]bool{}
	for _, p := range ps {
		k := [2]netip.AddrPort{p.Src, p.Dst}
		if seen[k] {
			return p, true
		}
		seen[k] = true
	}
	return Pair{}, false
}

// An IPv6 local address dials a DNS64 answer as it is: its IPv4 server is
// not for an IPv6 source (as for net.Dialer), the synthesized address is.
func TestNAT64LocalIPv6KeepsDNS64Answer(t *testing.T) {
	names := fakeDNS{"d64.test": {ip("2001:db8:6464::c000:20a"), ip("192.0.2.10")}}
	s, _ := newTestSelector(t, ipv6Only(routedNAT64Snapshot(true)), names)
	q := Query{Network: "tcp", Host: "d64.test", Port: 80, Local: netip.MustParseAddrPort("[2001:db8:b:1::100]:0")}
	want := "2001:db8:b:1::100 -> 2001:db8:6464::c000:20a"
	ps, err := s.Attempts(context.Background(), q)
	if err != nil || !slices.Contains(pairText(ps), want) {
		t.Errorf("Attempts: %q, %v; want %s", pairText(ps), err, want)
	}
	st, err := s.Stream(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	awaitDone(st)
	if got := take(st); !slices.Contains(got, "2001:db8:b:1::100 [2001:db8:6464::c000:20a]:80") {
		t.Errorf("Stream: %q; want the pair to the DNS64 answer", got)
	}
}

// A Stream (the dialer's path for names) makes a failed RFC 7050 lookup again
// once the failure is old enough, as Attempts does: a failure at boot does
// not leave every later dial without the NAT64 prefix.
func TestNAT64StreamAfterFailedLookupAged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, failing := failingDNS64Selector(t)
		q := Query{Network: "tcp", Host: "both.test", Port: 80}
		streamed := func() []string {
			st, err := s.Stream(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			awaitDone(st)
			return take(st)
		}
		through := func(ps []string) bool {
			return slices.ContainsFunc(ps, func(p string) bool { return strings.Contains(p, "[2001:db8:6464::c000:20a]") })
		}
		if ps := streamed(); through(ps) {
			t.Fatalf("while the lookup fails: %q; want no pair through a prefix", ps)
		}
		failing.Store(false)
		time.Sleep(dns64Retry + time.Second)
		if ps := streamed(); !through(ps) {
			t.Errorf("after the failure aged: %q; want a pair to 192.0.2.10 through the prefix", ps)
		}
	})
}

// The prober's candidates to an IPv4 destination are "the pairs to dst under
// the same rules as a ranking": on an IPv6-only host with a PREF64 the ranking
// reaches 192.0.2.10 only through the NAT64, so the prober must be given those
// synthesized paths too, or it never measures an IPv4 destination there (and,
// on a dual-stack host, only ever measures its native IPv4 paths).
func TestNAT64ProbeCandidates(t *testing.T) {
	s, w := newTestSelector(t, ipv6Only(routedNAT64Snapshot(true)), nil)
	dst := netip.MustParseAddrPort("192.0.2.10:80")
	ps, err := s.Get(context.Background(), dst.Addr().String(), int(dst.Port()))
	if err != nil || len(ps) == 0 {
		t.Fatalf("Get = %v, %v; want the synthesized pairs", pairText(ps), err)
	}
	var want []string
	for _, p := range ps {
		want = append(want, p.Src.Addr().String()+" -> "+p.Dst.String())
	}
	var got []string
	for _, p := range s.probeCandidates(w, dst) {
		got = append(got, p.Src.Addr().String()+" -> "+p.Dst.String())
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("probeCandidates(%v):\n got %q\nwant %q (the ranking's pairs)", dst, got, want)
	}
}

// RFC 7050 discovery can reveal more than one prefix (a DNS64 with two); every
// one is a known prefix, so AAAA answers under any of them stand for IPv4 and
// must be turned back (one server, one destination), though synthesis uses
// the first only.
func TestNAT64DNS64SecondPrefix(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p2 := "2001:db8:6465::c000:20a" // 192.0.2.10 under the DNS64's second prefix
		names := fakeDNS{"two.test": {ip(p2), ip("192.0.2.10")}}
		lookup := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
			if host == "ipv4only.arpa." {
				if network != "ip6" {
					return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
				}
				return []netip.Addr{ip("2001:db8:6464::c000:aa"), ip("2001:db8:6464::c000:ab"),
					ip("2001:db8:6465::c000:aa"), ip("2001:db8:6465::c000:ab")}, nil
			}
			return names.lookup(ctx, network, host)
		}
		w := netstate.NewStatic(ipv6Only(routedNAT64Snapshot(false)))
		defer w.Close()
		s, err := New(WithWatcher(w), WithoutProbing(), withLookup(lookup))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ps, err := s.Get(context.Background(), "two.test", 80)
		if err != nil {
			t.Fatal(err)
		}
		dsts := map[netip.Addr]bool{}
		for _, p := range ps {
			if p.Dst.Addr() == ip(p2) && !p.Synthesized.IsValid() {
				t.Errorf("DNS64 answer %s under a discovered prefix kept as a real IPv6 destination: %s", p2, pairText([]Pair{p}))
			}
			dsts[p.Dst.Addr()] = true
		}
		if len(dsts) != 1 {
			t.Errorf("one server (192.0.2.10) is %d destinations: %q", len(dsts), pairText(ps))
		}
	})
}

// As net.Dialer's, a "tcp6" query takes IPv6 destinations only: an IPv4
// literal has no pair even where a NAT64 prefix would reach it (see the
// package documentation), and "tcp" reaches it.
func TestNAT64NotForTCP6(t *testing.T) {
	s, _ := newTestSelector(t, ipv6Only(routedNAT64Snapshot(true)), nil)
	ctx := context.Background()
	if ps, err := s.Attempts(ctx, Query{Network: "tcp6", Host: "192.0.2.10", Port: 80}); err == nil {
		t.Errorf("tcp6 to an IPv4 literal: %q; want net.Dialer's error", pairText(ps))
	}
	if ps, err := s.Attempts(ctx, Query{Network: "tcp", Host: "192.0.2.10", Port: 80}); err != nil || len(ps) == 0 || !ps[0].Synthesized.IsValid() {
		t.Errorf("tcp to an IPv4 literal: %q, %v; want synthesized pairs", pairText(ps), err)
	}
}

// TestNAT64TCP4ReasonWithPrefix: on an IPv6-only host whose link has a NAT64
// prefix from its RA, a "tcp4" query to an IPv4 literal has no pair (as
// net.Dialer's, it takes IPv4 only), but the reason must not claim that there
// is no NAT64 prefix: there is one, "tcp4" rules it out.
func TestNAT64TCP4ReasonWithPrefix(t *testing.T) {
	s, _ := newTestSelector(t, ipv6Only(routedNAT64Snapshot(true)), nil)
	_, err := s.ranked(context.Background(), Query{Network: "tcp4", Host: "192.0.2.10", Port: 80})
	npe, ok := err.(*NoPairError)
	if !ok {
		t.Fatalf("err = %v; want a NoPairError", err)
	}
	for _, r := range npe.Reasons {
		if strings.Contains(r, "no NAT64 prefix") {
			t.Errorf("reason %q says there is no NAT64 prefix; eth1 has %v from its RA", r, labPREF64)
		}
	}
	// The same through the public Attempts: the fallback pair's Reason.
	ps, _ := s.Attempts(context.Background(), Query{Network: "tcp4", Host: "192.0.2.10", Port: 80})
	for _, p := range ps {
		if strings.Contains(p.Reason, "no NAT64 prefix") {
			t.Errorf("Attempts: pair %v reason %q says there is no NAT64 prefix", p.Dst, p.Reason)
		}
	}
}
