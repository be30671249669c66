package probe_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/getapr/getapr/probe"
)

// TestEstimatesMatchFromNearby checks Estimates against what a ranking made of
// From and Nearby: the pair's own RTT estimate when it has one, else the nearby
// one, for random stores where destinations share prefixes (4 to a prefix, and
// 20 in one: more than Estimates looks through one by one), some pairs only
// failed (known, no RTT) and some worked at their last attempt and some not,
// and some met a middlebox at their last TLS handshake; the destinations asked
// for in more prefixes than Estimates remembers at once, grouped or shuffled.
func TestEstimatesMatchFromNearby(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	srcs := []netip.Addr{addr(srcA), addr(srcB)}
	dstOf := func(i int) netip.Addr { // 4 destinations per /32, then 20 in one
		if i >= 80 {
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xff, 0x80, byte(i), 15: 1})
		}
		return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, byte(i / 4), 0x80, byte(i), 15: 1})
	}
	for round := range 50 {
		s := probe.NewStore()
		s.Observe(twoUplinks.snap())
		for range 200 {
			src, dst := srcs[rng.IntN(2)], dstOf(rng.IntN(100))
			r := []probe.Result{probe.Success, probe.Success, probe.Refused, probe.Timeout, probe.Middlebox, probe.TLSSuccess}[rng.IntN(6)]
			s.Report(probe.Outcome{Path: probe.Path{Src: netip.AddrPortFrom(src, 0), Dst: netip.AddrPortFrom(dst, 443)},
				Result: r, Start: t0, Duration: time.Duration(1+rng.IntN(50)) * time.Millisecond})
		}
		var dsts []netip.Addr
		for i := range 100 { // 21 prefixes
			dsts = append(dsts, dstOf(i))
		}
		if round%2 == 1 {
			rng.Shuffle(len(dsts), func(i, j int) { dsts[i], dsts[j] = dsts[j], dsts[i] })
		}
		for _, src := range append(srcs, addr("2001:db8:ffff::1")) {
			got := make([]probe.Estimate, len(dsts))
			now := t0.Add(time.Minute)
			h := s.Estimates(src, dsts, now, got)
			stats, found := make([]probe.PairStats, len(dsts)), make([]bool, len(dsts))
			if wh := s.From(src, dsts, stats, found); h != wh {
				t.Fatalf("round %d, %v: health %v, From says %v", round, src, h, wh)
			}
			for i, d := range dsts {
				want := probe.Estimate{}
				if st := stats[i]; found[i] && st.Samples > 0 && st.SRTT > 0 {
					want = probe.Estimate{SRTT: st.SRTT, RTTVar: st.RTTVar, Basis: probe.PairEstimate}
				} else if st, ok := s.Nearby(src, d); ok && st.Samples > 0 && st.SRTT > 0 {
					want = probe.Estimate{SRTT: st.SRTT, RTTVar: st.RTTVar, Basis: probe.NearbyEstimate}
				}
				if found[i] && stats[i].Intercepted(now) {
					want.MiddleboxUntil = stats[i].LastMiddlebox.Add(probe.MiddleboxHold)
				}
				if got[i] != want {
					t.Fatalf("round %d, %v → %v: %+v, want %+v", round, src, d, got[i], want)
				}
			}
		}
	}
}
