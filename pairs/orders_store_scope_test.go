package pairs

import (
	"context"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/probe"
)

// TestAttemptsKeepsOrderWhenOtherPairsLearned checks that a remembered racing
// order survives what the Store learns of pairs it does not depend on: a
// program that dials two hosts in turn (every dial reports its attempts, as
// the dialer does, and so does the prober every round) must not rank each
// warm dial again. Here the GUA source is alive already, and the Store then
// learns of a pair from it to a destination of another /32 (no nearby
// inheritance), and of a pair from the IPv4 source to another /20: no pair of
// the order, no health, no translator flag changes.
func TestAttemptsKeepsOrderWhenOtherPairsLearned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := fakeDNS{"server.test": {ip("2001:db8:2::1"), ip("198.51.100.1")}}
		s, _ := newTestSelector(t, homeSnapshot(), dns)
		ctx := context.Background()
		gua, v4 := netip.MustParseAddrPort("[2001:db8:1::10]:0"), netip.MustParseAddrPort("192.168.1.10:0")
		report := func(src netip.AddrPort, dst string) {
			s.Report(probe.Outcome{Path: probe.Path{Src: src, Dst: netip.MustParseAddrPort(dst)},
				Result: probe.Success, Start: time.Now(), Duration: 20 * time.Millisecond})
		}
		// Both sources proved alive (and the flags they teach learned) before
		// the order is made.
		report(gua, "[2a00:1450:4001::1]:443")
		report(v4, "203.0.113.1:443")

		q := Query{Network: "tcp", Host: "server.test", Port: 443}
		must(s.Attempts(ctx, q))
		x, ok := s.orders.m.Load(orderKeyOf(q))
		if !ok {
			t.Fatal("no order remembered")
		}
		x.(*orderEntry).pairs[0].Reason = "remembered"

		// Another host's dial reports its attempts.
		report(gua, "[2a00:1450:4001::2]:443")
		report(v4, "203.0.113.2:443")
		if ps := must(s.Attempts(ctx, q)); ps[0].Reason != "remembered" {
			t.Errorf("after reports on pairs the order does not use: ranked again (first pair %v, %q); want the remembered order",
				ps[0].Dst, ps[0].Reason)
		}
	})
}
