package pairs

import (
	"context"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// TestExtremeLatency checks that a measured latency at the limit of
// time.Duration, with a negative IPv6 bias, ranks last instead of wrapping
// around to first, and that the packed keys keep extreme latencies in order.
func TestExtremeLatency(t *testing.T) {
	snap := homeSnapshot()
	s, _ := newTestSelector(t, snap, nil, WithIPv6Bias(-time.Hour))
	v6, v4 := ip("2001:db8:2::1"), ip("192.168.1.20")
	k := &fakeKnowledge{pairs: map[[2]netip.Addr]probe.PairStats{
		{ip("2001:db8:1::10"), v6}: {SRTT: math.MaxInt64, Samples: 1, Successes: 1},
		{ip("fd00:1::10"), v6}:     {SRTT: math.MaxInt64 - time.Minute, Samples: 1, Successes: 1},
		{ip("192.168.1.10"), v4}:   {SRTT: 10 * time.Millisecond, Samples: 1, Successes: 1},
	}, health: map[netip.Addr]probe.Health{}}
	ps, _ := s.rankWith(context.Background(), s.watcher(), Query{Host: "x", Port: 80}, []netip.Addr{v6, v4}, k, new(workspace))
	if len(ps) != 3 || ps[0].Dst.Addr() != v4 {
		t.Fatalf("ranking = %v, want the IPv4 pair (10ms) first", ps)
	}

	for _, tt := range []struct{ lat, bias, want time.Duration }{
		{math.MaxInt64, -time.Hour, math.MaxInt64},
		{math.MaxInt64 - time.Second, -time.Hour, math.MaxInt64},
		{math.MinInt64, time.Hour, math.MinInt64},
		{200 * time.Millisecond, 5 * time.Millisecond, 195 * time.Millisecond},
		{200 * time.Millisecond, -5 * time.Millisecond, 205 * time.Millisecond},
	} {
		if got := biased(tt.lat, tt.bias); got != tt.want {
			t.Errorf("biased(%d, %v) = %d, want %d", tt.lat, tt.bias, got, tt.want)
		}
	}
	kb := newKeyBits(64)
	lats := []time.Duration{math.MinInt64, -time.Hour, 0, time.Microsecond, time.Second, 1000 * time.Hour, math.MaxInt64}
	for i := 1; i < len(lats); i++ {
		if a, b := kb.pack(rules{tier: 1, latency: lats[i-1]}), kb.pack(rules{tier: 1, latency: lats[i]}); a > b {
			t.Errorf("key(%d) > key(%d)", lats[i-1], lats[i])
		}
		if kb.pack(rules{tier: 1, latency: lats[i], place: 63}) >= kb.pack(rules{tier: 2, latency: lats[i-1]}) {
			t.Errorf("latency %d crosses into the next tier", lats[i])
		}
	}
}

// TestTunnelAfterIPv4 checks that, with nothing measured, a pair from a 6to4 or
// Teredo source, or to a 6to4 destination, ranks after native IPv4 (RFC 6724's
// precedences: IPv4 35, 6to4 30, Teredo 5), and native IPv6 before both.
func TestTunnelAfterIPv4(t *testing.T) {
	for _, tc := range []struct{ name, src, dst6, want string }{
		{"6to4 source", "2002:c633:6401::2/48", "2001:db8:2::1", "192.168.1.10 198.51.100.1:80"},
		{"Teredo source", "2001:0:4136:e378:8000:63bf:3fff:fdd2/32", "2001:db8:2::1", "192.168.1.10 198.51.100.1:80"},
		{"6to4 destination", "2001:db8:1::10/64", "2002:c633:6402::1", "192.168.1.10 198.51.100.1:80"},
		{"native", "2001:db8:1::10/64", "2001:db8:2::1", "2001:db8:1::10 [2001:db8:2::1]:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := homeSnapshot()
			snap.Addrs = []netstate.Addr{addr(tc.src, 2, "eth0"), addr("192.168.1.10/24", 2, "eth0")}
			s, _ := newTestSelector(t, snap, fakeDNS{"x.test": {ip(tc.dst6), ip("198.51.100.1")}})
			ps, err := s.Get(context.Background(), "x.test", 80)
			if err != nil {
				t.Fatal(err)
			}
			if got := dsts(ps); len(got) != 2 || got[0] != tc.want {
				t.Errorf("ranking %q, want %q first", got, tc.want)
			}
		})
	}
}
