package pairs

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// TestPackedKeysFollowRules checks that sorting candidates by their packed keys
// (keyBits.pack) is sorting them by the ranking rules read as a ladder
// (rules.compare), on random candidates, in the layout for any latency and in
// one fitted to the candidates' own: ties in tier, latency and the kernel's
// choice are frequent, and latencies span negative (biased) to hours.
func TestPackedKeysFollowRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lats := []time.Duration{-5 * time.Millisecond, 0, time.Microsecond, 1500 * time.Nanosecond,
		10 * time.Millisecond, 10*time.Millisecond + 999*time.Nanosecond, 200 * time.Millisecond, 3 * time.Hour}
	for round := range 200 {
		n := 1 + rng.IntN(300)
		rs := make([]rules, n)
		for i, p := range rng.Perm(n) {
			rs[i] = rules{tier: rng.IntN(4), latency: lats[rng.IntN(len(lats))], kernel: rng.IntN(3) == 0, place: uint32(p)}
		}
		byRules := slices.Clone(rs)
		slices.SortFunc(byRules, rules.compare)
		lo, hi := rs[0].latency, rs[0].latency
		for _, r := range rs {
			lo, hi = min(lo, r.latency), max(hi, r.latency)
		}
		for _, kb := range []keyBits{newKeyBits(n), newKeyBits(n).fit(lo, hi)} {
			keys := make([]uint64, n)
			at := make([]rules, n) // by place
			for i, r := range rs {
				keys[i] = kb.pack(r)
				at[r.place] = r
			}
			slices.Sort(keys)
			for i, k := range keys {
				if got := at[kb.pos(k)]; got != byRules[i] {
					t.Fatalf("round %d, %d candidates, layout %+v: at %d the keys give %+v, the rules %+v", round, n, kb, i, got, byRules[i])
				}
				if got, want := kb.tier(k), byRules[i].tier; got != want {
					t.Fatalf("round %d, layout %+v: key %#x has tier %d, want %d", round, kb, k, got, want)
				}
			}
		}
	}
}

// TestNoPairReasonNamesTheRealBlocker: a host whose IPv6 uplink is gone (no IPv6 default route) lists its GUA before
// its link-local address, as Linux does. The GUA is the only source the rules
// allow for a global destination, and the kernel has no route for it: that is
// the reason there is no pair. The error must not blame the link-local address.
func TestNoPairReasonNamesTheRealBlocker(t *testing.T) {
	snap := &netstate.Snapshot{
		Generation: 1,
		Links:      []netstate.Link{{Index: 1, Name: "lo", Up: true, Running: true, Loopback: true}, link(2, "eth0")},
		Addrs: []netstate.Addr{
			addr("2001:db8:1::10/64", 2, "eth0"),
			addr("fe80::10/64", 2, "eth0"),
		},
		Routes: []netstate.Route{
			route("2001:db8:1::/64", "", 2),
			route("fe80::/64", "", 2),
		},
	}
	s, _ := newTestSelector(t, snap, nil)
	_, err := s.Get(context.Background(), "2001:db8:99::7", 443)
	npe, ok := errors.AsType[*NoPairError](err)
	if !ok || len(npe.Reasons) != 1 {
		t.Fatalf("err = %v", err)
	}
	if r := npe.Reasons[0]; !strings.Contains(r, "route") {
		t.Errorf("reason = %q; want it to say the GUA source has no route (the only allowed source), not why the link-local one is not allowed", r)
	}
}

// TestStickyIncumbentReason: the hysteresis keeps a measured incumbent first against a measured
// challenger that is not clearly faster. The incumbent's Reason must say so:
// "measured 50ms" ranked above "measured 45ms" is not why it is first.
func TestStickyIncumbentReason(t *testing.T) {
	snap := homeSnapshot()
	a, b := ip("2001:db8:99::7"), ip("2001:db8:99::8")
	dns := fakeDNS{"server.test": {a, b}}
	s, _ := newTestSelector(t, snap, dns)
	src := ip("2001:db8:1::10")
	q := Query{Network: "tcp6", Host: "server.test", Port: 443}
	k := &fakeKnowledge{pairs: map[[2]netip.Addr]probe.PairStats{
		{src, a}: srtt(50 * time.Millisecond), {src, b}: srtt(60 * time.Millisecond),
	}}
	ps, err := s.rankedWith(context.Background(), q, k)
	if err != nil || ps[0].Dst.Addr() != a {
		t.Fatalf("first ranking: %v %v", ps, err)
	}
	k.pairs[[2]netip.Addr{src, b}] = srtt(45 * time.Millisecond)
	ps, err = s.rankedWith(context.Background(), q, k)
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Dst.Addr() != a {
		t.Fatalf("hysteresis did not keep %v first: %v", a, ps)
	}
	if r := ps[0].Reason; r != "measured 50ms"+keptFirst {
		t.Errorf("incumbent first at 50ms ahead of %v at 45ms; its Reason = %q, which does not say it is held first by the hysteresis", ps[1].Dst, r)
	}
	if r := ps[1].Reason; r != "measured 45ms" {
		t.Errorf("the challenger's Reason = %q; want its own, measured 45ms", r)
	}
}
