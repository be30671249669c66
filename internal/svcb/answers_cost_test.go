package svcb

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestSetAddrsLinear checks that recording an A or AAAA answer takes time
// linear in its addresses: an answer over TCP may hold thousands (a hostile
// or misconfigured server), and every Stream records its host's answers here.
// Ten times the addresses must not take much more than ten times as long.
func TestSetAddrsLinear(t *testing.T) {
	cost := func(n int) time.Duration {
		as := make([]netip.Addr, n)
		for i := range as {
			as[i] = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 12: byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		}
		as = append(as, as[:n/2]...) // duplicates are dropped
		var runs []time.Duration
		for range 5 {
			a := NewAnswers("big.test", 443, nil)
			start := time.Now()
			a.SetAddrs("big.test", true, false, as)
			runs = append(runs, time.Since(start))
			if got := len(a.names["big.test."].addrs[1]); got != n {
				t.Fatalf("%d distinct addresses recorded, want %d", got, n)
			}
		}
		return slices.Min(runs)
	}
	small, large := cost(2000), cost(20000)
	t.Logf("SetAddrs: %v for 2,000 addresses, %v for 20,000", small, large)
	if large > 30*small {
		t.Errorf("SetAddrs took %v for 20,000 addresses, %v for 2,000 (%.0f times): not linear", large, small, float64(large)/float64(small))
	}
}
