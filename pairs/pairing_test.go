package pairs

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// TestPrototypeRules is the prototype's pairing rules as a table.
func TestPrototypeRules(t *testing.T) {
	none := probe.Translators{}
	triedNone := probe.Translators{NPTv6Tried: true, NAT44Tried: true}
	seen := probe.Translators{NPTv6: true, NPTv6Tried: true, NAT44: true, NAT44Tried: true}
	tests := []struct {
		src, dst string
		tr       probe.Translators
		want     bool
	}{
		{"2001:db8:1::1", "2001:db8:2::1", none, true},      // global to global
		{"2001:db8:1::1", "fd00::1", none, false},           // GUA to ULA: no
		{"2001:db8:1::1", "198.51.100.1", none, false},      // never mix families
		{"fd00:1::1", "fd00:2::1", none, true},              // ULA to ULA
		{"fd00:1::1", "2001:db8:2::1", none, true},          // ULA to global: NPTv6 not tried yet
		{"fd00:1::1", "2001:db8:2::1", triedNone, false},    // ... tried and not seen
		{"fd00:1::1", "2001:db8:2::1", seen, true},          // ... seen
		{"fe80::1%eth0", "fe80::2%eth0", none, true},        // link-local to link-local
		{"fe80::1%eth0", "2001:db8:2::1", none, false},      // link-local to global: no
		{"2001:db8:1::1", "fe80::2%eth0", none, false},      // global to link-local: no
		{"169.254.1.1", "169.254.2.2", none, true},          // IPv4 link-local
		{"169.254.1.1", "198.51.100.1", none, false},        // ... only to link-local
		{"192.168.1.1", "10.0.0.1", none, true},             // RFC 1918 to private
		{"192.168.1.1", "100.64.0.1", none, true},           // ... and to shared space
		{"100.64.0.2", "10.0.0.1", none, true},              // shared space to private
		{"192.168.1.1", "198.51.100.1", none, true},         // private to global: NAT44 not tried yet
		{"192.168.1.1", "198.51.100.1", triedNone, false},   // ... tried and not seen
		{"100.64.0.2", "198.51.100.1", seen, true},          // ... seen
		{"198.51.100.2", "198.51.100.1", triedNone, true},   // global to global
		{"198.51.100.2", "10.0.0.1", none, false},           // global to private: no
		{"127.0.0.1", "127.0.0.1", none, true},              // loopback
		{"2001:db8:1::1", "::1", none, false},               // loopback only from loopback
		{"2001:db8:1::1", "ff02::1", none, false},           // not unicast
		{"192.168.1.1", "0.0.0.0", none, false},             // not unicast
		{"192.168.1.1", "::ffff:198.51.100.1", none, false}, // mapped: not a source class
	}
	for _, tt := range tests {
		t.Run(tt.src+"→"+tt.dst, func(t *testing.T) {
			ok, why := allowed(netstate.Classify(ip(tt.src)), netstate.Classify(ip(tt.dst)), tt.tr)
			if ok != tt.want {
				t.Errorf("allowed = %v (%s), want %v", ok, why, tt.want)
			}
			if !ok && why == "" {
				t.Error("no reason given")
			}
		})
	}
}

// TestSourceFlags checks that tentative and DAD-failed sources are never used, that
// suspect sources come after those in good standing even when faster, deprecated
// ones after all others, dead ones last.
func TestSourceFlags(t *testing.T) {
	snap := homeSnapshot()
	snap.Addrs = append(snap.Addrs,
		addr("2001:db8:1::20/64", 2, "eth0", netstate.Tentative),
		addr("2001:db8:1::21/64", 2, "eth0", netstate.DADFailed),
		addr("2001:db8:1::22/64", 2, "eth0", netstate.Deprecated),
		addr("2001:db8:1::23/64", 2, "eth0"),
		addr("2001:db8:1::24/64", 2, "eth0"),
	)
	s, _ := newTestSelector(t, snap, nil)
	k := &fakeKnowledge{
		health: map[netip.Addr]probe.Health{ip("2001:db8:1::23"): probe.Dead, ip("2001:db8:1::24"): probe.Suspect},
		pairs:  map[[2]netip.Addr]probe.PairStats{{ip("2001:db8:1::24"), ip("2001:db8:2::1")}: {SRTT: 10 * time.Millisecond, Samples: 3}},
	}
	ps, _ := s.rankWith(context.Background(), s.watcher(), Query{Host: "2001:db8:2::1", Port: 80}, []netip.Addr{ip("2001:db8:2::1")}, k, new(workspace))
	var got []string
	for _, p := range ps {
		got = append(got, p.Src.Addr().String()+" "+p.Reason)
	}
	want := []string{
		"2001:db8:1::10 default ipv6 gua 200ms; kernel's choice",
		"fd00:1::10 default ula via nptv6 201ms",
		"2001:db8:1::24 source suspect; measured 10ms",
		"2001:db8:1::22 source deprecated; default ipv6 gua 200ms",
		"2001:db8:1::23 source dead; default ipv6 gua 200ms",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

// TestRouteCheck checks that pairs the kernel cannot route are dropped, that other
// RouteFor errors keep the pair, that decisions are cached until the routes to the
// destination change and that
// EgressMismatch follows the route's interface.
func TestRouteCheck(t *testing.T) {
	snap := homeSnapshot()
	snap.Links = append(snap.Links, link(3, "wlan0"))
	snap.Addrs = append(snap.Addrs, addr("2001:db8:5::10/64", 3, "wlan0"))
	snap.Routes = append(snap.Routes, route("2001:db8:5::/64", "", 3))
	s, w := newTestSelector(t, snap, nil)
	var calls atomic.Int32
	blocked := ip("2001:db8:1::10")
	w.SetRouteFunc(func(src, dst netip.Addr) (netstate.Decision, error) {
		calls.Add(1)
		switch {
		case src == blocked:
			return netstate.Decision{}, &netstate.RouteError{Src: src, Dst: dst, Kind: netstate.ProhibitedErr}
		case src.Is6() && dst == ip("2001:db8:7::1"):
			return netstate.Decision{}, context.DeadlineExceeded // not a route error: keep
		}
		return netstate.Decision{Index: 2, Interface: "eth0"}, nil
	})
	get := func(host string) []Pair {
		t.Helper()
		ps, err := s.Get(context.Background(), host, 80)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	ps := get("2001:db8:2::1")
	if got := dsts(ps); !slices.Equal(got, []string{"2001:db8:5::10 [2001:db8:2::1]:80", "fd00:1::10 [2001:db8:2::1]:80"}) {
		t.Errorf("prohibited source not dropped: %q", got)
	}
	if !ps[0].EgressMismatch || ps[1].EgressMismatch {
		t.Errorf("EgressMismatch = %v, %v; want true (wlan0 source, eth0 route), false", ps[0].EgressMismatch, ps[1].EgressMismatch)
	}
	n := calls.Load()
	get("2001:db8:2::1")
	if calls.Load() != n {
		t.Errorf("RouteFor called again for the same pairs in the same generation")
	}
	if got := len(get("2001:db8:7::1")); got != 2 {
		t.Errorf("a RouteFor error that is not a RouteError must keep the pairs: %d pairs, want 2", got)
	}
	// A new generation whose routes changed for the destination (see
	// TestRouteCacheSurvivesUnrelatedRouteChange for the others).
	next := *snap
	next.Routes = append(slices.Clone(snap.Routes), route("2001:db8:2::/64", "", 2))
	w.Set(&next)
	n = calls.Load()
	get("2001:db8:2::1")
	if calls.Load() == n {
		t.Errorf("RouteFor not asked again after the destination's route changed")
	}
	_, err := s.Get(context.Background(), "2001:db8:2::1", 80)
	if err != nil {
		t.Fatal(err)
	}
	var npe *NoPairError
	w.SetRouteFunc(func(src, dst netip.Addr) (netstate.Decision, error) {
		return netstate.Decision{}, &netstate.RouteError{Src: src, Dst: dst, Kind: netstate.UnreachableErr}
	})
	next.Routes = slices.Clone(next.Routes)
	next.Routes[len(next.Routes)-1].Index = 3
	w.Set(&next)
	_, err = s.Get(context.Background(), "2001:db8:2::1", 80)
	if !errors.As(err, &npe) {
		t.Fatalf("nothing routable: err = %v, want *NoPairError", err)
	}
}

// TestLinkLocalZones checks that a link-local destination without a zone pairs with
// the link-local source of each interface, and with a zone only with that one.
func TestLinkLocalZones(t *testing.T) {
	snap := homeSnapshot()
	snap.Links = append(snap.Links, link(3, "wlan0"))
	snap.Addrs = append(snap.Addrs, addr("fe80::30/64", 3, "wlan0"))
	snap.Routes = append(snap.Routes, route("fe80::/64", "", 3))
	s, _ := newTestSelector(t, snap, nil)
	tests := []struct {
		host string
		want []string
	}{
		{"fe80::1", []string{"fe80::10%eth0 [fe80::1%eth0]:80", "fe80::30%wlan0 [fe80::1%wlan0]:80"}},
		{"fe80::1%wlan0", []string{"fe80::30%wlan0 [fe80::1%wlan0]:80"}},
		{"fe80::1%3", []string{"fe80::30%wlan0 [fe80::1%wlan0]:80"}},
	}
	for _, tt := range tests {
		ps, err := s.Get(context.Background(), tt.host, 80)
		if err != nil {
			t.Fatalf("%s: %v", tt.host, err)
		}
		if got := dsts(ps); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.host, got, tt.want)
		}
	}
	_, err := s.Get(context.Background(), "fe80::1%eth9", 80)
	var npe *NoPairError
	if !errors.As(err, &npe) || npe.Reasons[0] != "fe80::1%eth9: no interface eth9" {
		t.Errorf("unknown zone: err = %v", err)
	}
}

// TestSameLinkLocalOnTwoInterfaces checks that one link-local address configured
// on two interfaces (common with VLANs on one NIC) gives one pair per zone. The
// route check is faked to accept both, so that only the pairing is tested.
func TestSameLinkLocalOnTwoInterfaces(t *testing.T) {
	snap := homeSnapshot()
	snap.Links = append(snap.Links, link(3, "eth0.7"))
	snap.Addrs = append(snap.Addrs, addr("fe80::10/64", 3, "eth0.7"))
	s, w := newTestSelector(t, snap, nil)
	w.SetRouteFunc(func(src, dst netip.Addr) (netstate.Decision, error) {
		if src.Zone() != dst.Zone() {
			return netstate.Decision{}, &netstate.RouteError{Src: src, Dst: dst, Kind: netstate.BadSource}
		}
		idx := map[string]int{"eth0": 2, "eth0.7": 3}[src.Zone()]
		return netstate.Decision{Index: idx}, nil
	})
	ps, err := s.Get(context.Background(), "fe80::1", 80)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fe80::10%eth0 [fe80::1%eth0]:80", "fe80::10%eth0.7 [fe80::1%eth0.7]:80"}
	if got := dsts(ps); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := Order(ps, 1); got[0].Src == got[1].Src {
		t.Errorf("the two zones' sources count as one source in Order")
	}
	ps, err = s.Attempts(context.Background(), Query{Host: "fe80::1", Port: 80, Local: netip.MustParseAddrPort("[fe80::10%eth0.7]:0")})
	if err != nil {
		t.Fatal(err)
	}
	if got := dsts(ps); !slices.Equal(got, want[1:]) {
		t.Errorf("LocalAddr with a zone: got %q, want %q", got, want[1:])
	}
}
