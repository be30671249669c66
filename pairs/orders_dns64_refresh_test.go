package pairs

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestAttemptsLooksOldDNS64AnswerUpAgain checks that a program that dials the
// same IPv4 literal over and over on an IPv6-only network (NAT64 prefix from
// RFC 7050) still sees its DNS64's new prefix once the old answer is
// dns64Refresh old, as Get and Stream do (TestDNS64StreamRefresh): a
// remembered racing order must not keep the old answer standing for ever.
func TestAttemptsLooksOldDNS64AnswerUpAgain(t *testing.T) {
	a, b := netip.MustParsePrefix("2001:db8:64::/96"), netip.MustParsePrefix("2001:db8:65::/96")
	synctest.Test(t, func(t *testing.T) {
		f := &changingDNS64{p: a}
		s := lookupSelector(t, ipv6Only(routedNAT64Snapshot(false)), f.lookup)
		q := Query{Network: "tcp", Host: "192.0.2.10", Port: 443}
		dial := func() []Pair {
			ps, err := s.Attempts(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			return ps
		}
		under := func(ps []Pair, p netip.Prefix) bool {
			return slices.ContainsFunc(ps, func(x Pair) bool { return x.Synthesized.IsValid() && p.Contains(x.Dst.Addr()) })
		}
		dial()
		if ps := dial(); !under(ps, a) { // the order remembered, with the answer
			t.Fatalf("first dials: %v; want pairs under %v", pairText(ps), a)
		}
		f.set(b, false)
		time.Sleep(dns64Refresh + time.Second)
		var ps []Pair
		for range 5 { // a dial or two after dns64Refresh: looked up again, then used
			ps = dial()
		}
		f.mu.Lock()
		calls := f.calls
		f.mu.Unlock()
		if calls < 2 || !under(ps, b) {
			t.Errorf("5 dials after dns64Refresh: %d RFC 7050 lookups, pairs %v; want the answer looked up again and pairs under %v",
				calls, pairText(ps), b)
		}
	})
}
