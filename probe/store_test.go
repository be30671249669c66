package probe_test

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/getapr/getapr/probe"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestRTTRFC6298(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		name         string
		outcomes     []probe.Outcome
		srtt, rttvar time.Duration
		samples      int
		succ, fail   int
	}{
		{
			name:     "first sample",
			outcomes: []probe.Outcome{outcome("2001:db8::1", "2001:db8:1::1", probe.Success, ms(100), t0)},
			srtt:     ms(100), rttvar: ms(50), samples: 1, succ: 1,
		},
		{
			name: "three samples",
			outcomes: []probe.Outcome{
				outcome("2001:db8::1", "2001:db8:1::1", probe.Success, ms(100), t0),
				outcome("2001:db8::1", "2001:db8:1::1", probe.Success, ms(200), t0.Add(time.Second)),
				outcome("2001:db8::1", "2001:db8:1::1", probe.Success, ms(50), t0.Add(2*time.Second)),
			},
			// RTTVAR = 3/4*50 + 1/4*|100-200| = 62.5, SRTT = 7/8*100 + 1/8*200 = 112.5;
			// RTTVAR = 3/4*62.5 + 1/4*|112.5-50| = 62.5, SRTT = 7/8*112.5 + 1/8*50 = 104.6875.
			srtt: ms(104.6875), rttvar: ms(62.5), samples: 3, succ: 3,
		},
		{
			name: "refused is a sample, timeout is not",
			outcomes: []probe.Outcome{
				outcome("192.0.2.1", "198.51.100.1", probe.Refused, ms(40), t0),
				outcome("192.0.2.1", "198.51.100.1", probe.Timeout, 5*time.Second, t0.Add(time.Second)),
			},
			srtt: ms(40), rttvar: ms(20), samples: 1, succ: 1, fail: 1,
		},
		{
			name: "kernel RTT preferred",
			outcomes: []probe.Outcome{func() probe.Outcome {
				o := outcome("192.0.2.1", "198.51.100.1", probe.Success, ms(90), t0)
				o.KernelRTT = ms(30)
				return o
			}()},
			srtt: ms(30), rttvar: ms(15), samples: 1, succ: 1,
		},
		{
			name: "canceled and other errors say nothing",
			outcomes: []probe.Outcome{
				outcome("192.0.2.1", "198.51.100.1", probe.Success, ms(10), t0),
				outcome("192.0.2.1", "198.51.100.1", probe.Canceled, ms(1), t0.Add(time.Second)),
				outcome("192.0.2.1", "198.51.100.1", probe.OtherError, ms(1), t0.Add(time.Second)),
			},
			srtt: ms(10), rttvar: ms(5), samples: 1, succ: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := probe.NewStore()
			for _, o := range tt.outcomes {
				s.Report(o)
			}
			last := tt.outcomes[0]
			got, ok := s.Pair(last.Src.Addr(), last.Dst.Addr())
			if !ok {
				t.Fatal("Pair: not found")
			}
			if got.SRTT != tt.srtt || got.RTTVar != tt.rttvar || got.Samples != tt.samples ||
				got.Successes != tt.succ || got.Failures != tt.fail {
				t.Errorf("Pair = %+v, want SRTT %v RTTVar %v Samples %d Successes %d Failures %d",
					got, tt.srtt, tt.rttvar, tt.samples, tt.succ, tt.fail)
			}
		})
	}
}

func TestPairKeys(t *testing.T) {
	s := probe.NewStore()
	s.Report(outcome("2001:db8::1", "2001:db8:1::1", probe.Success, time.Millisecond, t0))
	s.Report(outcome("fe80::1%eth0", "fe80::2%eth0", probe.Success, time.Millisecond, t0))
	tests := []struct {
		src, dst string
		ok       bool
	}{
		{"2001:db8::1", "2001:db8:1::1", true},
		{"2001:db8::1%eth0", "2001:db8:1::1%x", true}, // zones ignored on global addresses
		{"fe80::1%eth0", "fe80::2%eth0", true},
		{"fe80::1%eth1", "fe80::2%eth1", false}, // but not on link-local ones
		{"fe80::1", "fe80::2", false},
		{"2001:db8::1", "2001:db8:1::2", false},
	}
	for _, tt := range tests {
		t.Run(tt.src+"->"+tt.dst, func(t *testing.T) {
			if _, ok := s.Pair(addr(tt.src), addr(tt.dst)); ok != tt.ok {
				t.Errorf("Pair ok = %v, want %v", ok, tt.ok)
			}
		})
	}
}

func TestNearby(t *testing.T) {
	s := probe.NewStore()
	rep := func(src, dst string, r probe.Result, ms int) {
		s.Report(outcome(src, dst, r, time.Duration(ms)*time.Millisecond, t0))
	}
	rep("2001:db8::1", "2001:db8:aa::1", probe.Success, 30)
	rep("2001:db8::1", "2001:db8:bb::1", probe.Success, 20)
	rep("2001:db8::1", "2001:db8:cc::1", probe.Success, 10)
	rep("2001:db8::1", "2001:db8:cc::1", probe.Timeout, 0) // measured, but failed last
	rep("2001:db8::1", "2001:db9::1", probe.Success, 5)    // another /32
	rep("192.0.2.1", "198.51.100.1", probe.Success, 40)    // 198.51.96.0/20
	rep("192.0.2.1", "198.51.112.1", probe.Success, 4)     // 198.51.112.0/20
	tests := []struct {
		name, src, dst string
		srtt           time.Duration // 0: none
	}{
		{"working lowest wins", "2001:db8::1", "2001:db8:dd::1", 20 * time.Millisecond},
		{"exact dst excluded", "2001:db8::1", "2001:db8:bb::1", 30 * time.Millisecond},
		{"other /32", "2001:db8::1", "2001:db9:ff::1", 5 * time.Millisecond},
		{"no nearby", "2001:db8::1", "2001:dba::1", 0},
		{"other source", "2001:db8::2", "2001:db8:dd::1", 0},
		{"ipv4 /20", "192.0.2.1", "198.51.101.7", 40 * time.Millisecond},
		{"ipv4 other /20", "192.0.2.1", "198.51.128.1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.Nearby(addr(tt.src), addr(tt.dst))
			if ok != (tt.srtt != 0) || got.SRTT != tt.srtt {
				t.Errorf("Nearby = %v, %v; want SRTT %v", got.SRTT, ok, tt.srtt)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		src, dst string
		r        probe.Result
		want     probe.Status
	}{
		{"2001:db8::1", "2001:db8:1::1", probe.Success, probe.Status{GUAOK: true}},
		{"2001:db8::1", "2001:db8:1::1", probe.Timeout, probe.Status{}},
		{"fd00::1", "fd01::1", probe.Refused, probe.Status{ULAOK: true}},
		{"fd00::1", "2001:db8:1::1", probe.Success, probe.Status{ULAOK: true, NPTv6: true, NPTv6Tried: true}},
		{"fd00::1", "2001:db8:1::1", probe.Timeout, probe.Status{NPTv6Tried: true}},
		{"fd00::1", "2001:db8:1::1", probe.Canceled, probe.Status{}},
		{"fe80::1%eth0", "fe80::2%eth0", probe.Success, probe.Status{LLAOK: true}},
		{"169.254.1.1", "169.254.1.2", probe.Success, probe.Status{LLAOK: true, IPv4OK: true}},
		{"192.168.1.2", "192.168.1.1", probe.Success, probe.Status{IPv4OK: true}},
		{"192.168.1.2", "198.51.100.1", probe.Refused, probe.Status{IPv4OK: true, NAT44: true, NAT44Tried: true}},
		{"100.64.0.2", "198.51.100.1", probe.Unreachable, probe.Status{NAT44Tried: true}},
		{"10.0.0.2", "100.64.0.1", probe.Success, probe.Status{IPv4OK: true}},
		{"10.0.0.2", "198.51.100.1", probe.OtherError, probe.Status{}},
	}
	for _, tt := range tests {
		t.Run(tt.src+"->"+tt.dst+":"+tt.r.String(), func(t *testing.T) {
			s := probe.NewStore()
			s.Report(outcome(tt.src, tt.dst, tt.r, time.Millisecond, t0))
			got := s.Status()
			got.Sources, got.Changed = nil, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Status = %+v, want %+v", got, tt.want)
			}
			want := probe.Translators{NPTv6: tt.want.NPTv6, NPTv6Tried: tt.want.NPTv6Tried, NAT44: tt.want.NAT44, NAT44Tried: tt.want.NAT44Tried}
			if tr := s.Translators(); tr != want {
				t.Errorf("Translators = %+v, want %+v", tr, want)
			}
		})
	}
}

func TestEviction(t *testing.T) {
	s := probe.NewStore(probe.WithMaxPairs(16))
	src := addr("2001:db8::1")
	for i := range 40 {
		dst := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 1, 15: byte(i)})
		s.Report(probe.Outcome{
			Path:   probe.Path{Src: netip.AddrPortFrom(src, 0), Dst: netip.AddrPortFrom(dst, 80)},
			Result: probe.Success, Start: t0.Add(time.Duration(i) * time.Second), Duration: time.Millisecond,
		})
	}
	kept := 0
	for i := range 40 {
		dst := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 1, 15: byte(i)})
		if _, ok := s.Pair(src, dst); ok {
			kept++
		} else if i >= 30 {
			t.Errorf("recent pair %d evicted", i)
		}
	}
	if kept > 16 || kept < 14 {
		t.Errorf("%d pairs kept, want 14..16", kept)
	}
}

// TestEvictionForgetsSources: a Store that follows no snapshot takes its
// sources from reports (a crawler on rotating addresses); those whose pairs
// were all evicted go too, so that its memory stays bounded by WithMaxPairs.
func TestEvictionForgetsSources(t *testing.T) {
	s := probe.NewStore(probe.WithMaxPairs(16))
	dst := addr("2001:db8:ffff::1")
	for i := range 1000 {
		src := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: byte(i >> 8), byte(i)})
		s.Report(probe.Outcome{Path: probe.Path{Src: netip.AddrPortFrom(src, 0), Dst: netip.AddrPortFrom(dst, 443)},
			Result: probe.Success, Start: t0.Add(time.Duration(i) * time.Second), Duration: 10 * time.Millisecond})
	}
	if n := len(s.Status().Sources); n > 16 {
		t.Errorf("%d sources remembered after 1000 sources' reports with at most 16 pairs kept; want at most 16", n)
	}
	last := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 14: 999 >> 8, 999 & 0xff})
	if _, ok := s.Pair(last, dst); !ok || s.Health(last) != probe.Alive {
		t.Errorf("the last source's pair or health forgotten: %v", s.Health(last))
	}
}

func TestReportDropsUnknownSource(t *testing.T) {
	s := probe.NewStore()
	s.Observe(host{addrs: []string{"eth0 2001:db8::1/64"}}.snap())
	s.Report(outcome("2001:db8::99", "2001:db8:1::1", probe.Success, time.Millisecond, t0))
	if _, ok := s.Pair(addr("2001:db8::99"), addr("2001:db8:1::1")); ok {
		t.Error("outcome of a source that is not on the host was kept")
	}
	if st := s.Status(); st.GUAOK {
		t.Error("outcome of a source that is not on the host set GUA_ok")
	}
	s.Report(outcome("2001:db8::1", "2001:db8:1::1", probe.Success, time.Millisecond, t0))
	if _, ok := s.Pair(addr("2001:db8::1"), addr("2001:db8:1::1")); !ok {
		t.Error("outcome of a host source dropped")
	}
}

func TestFrom(t *testing.T) {
	ms := time.Millisecond
	s := probe.NewStore()
	s.Report(outcome("2001:db8::1", "2001:db8:1::1", probe.Success, 10*ms, t0))
	s.Report(outcome("2001:db8::1", "2001:db8:2::1", probe.Success, 20*ms, t0))
	s.Report(outcome("2001:db8::1", "2001:db8:2::1", probe.Timeout, 5*time.Second, t0.Add(time.Second)))
	s.Report(outcome("fe80::1%eth0", "fe80::2%eth0", probe.Success, ms, t0))
	s.Report(outcome("192.0.2.1", "198.51.100.1", probe.Refused, 40*ms, t0))
	// 2001:db8::3 fails twice where 2001:db8::1 works: dead.
	s.Report(outcome("2001:db8::3", "2001:db8:1::1", probe.Timeout, 5*time.Second, t0))
	s.Report(outcome("2001:db8::3", "2001:db8:1::1", probe.Timeout, 5*time.Second, t0.Add(time.Second)))
	tests := []struct {
		name   string
		src    string
		dsts   []string
		srtt   []time.Duration // per dst; -1: not found
		health probe.Health
	}{
		{"known and unknown pairs", "2001:db8::1",
			[]string{"2001:db8:1::1", "2001:db8:1::2", "2001:db8:2::1", "198.51.100.1"},
			[]time.Duration{10 * ms, -1, 20 * ms, -1}, probe.Alive},
		{"no destinations", "2001:db8::1", nil, nil, probe.Alive},
		{"zones ignored on global addresses", "2001:db8::1%eth0",
			[]string{"2001:db8:1::1%x", "2001:db8:2::1%eth0"}, []time.Duration{10 * ms, 20 * ms}, probe.Alive},
		{"but not on link-local ones", "fe80::1%eth0",
			[]string{"fe80::2%eth0", "fe80::2%eth1", "fe80::2"}, []time.Duration{ms, -1, -1}, probe.Alive},
		{"link-local source on another zone", "fe80::1%eth1", []string{"fe80::2%eth0", "fe80::2%eth1"},
			[]time.Duration{-1, -1}, probe.Unknown},
		{"IPv4-mapped", "::ffff:192.0.2.1", []string{"::ffff:198.51.100.1", "198.51.100.1"},
			[]time.Duration{40 * ms, 40 * ms}, probe.Alive},
		{"unknown source", "2001:db8::99", []string{"2001:db8:1::1"}, []time.Duration{-1}, probe.Unknown},
		{"dead source", "2001:db8::3", []string{"2001:db8:1::1", "2001:db8:2::1"},
			[]time.Duration{0, -1}, probe.Dead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := addr(tt.src)
			dsts := make([]netip.Addr, len(tt.dsts))
			for i, d := range tt.dsts {
				dsts[i] = addr(d)
			}
			// Stale contents are overwritten; one element past the end is left alone.
			sentinel := probe.PairStats{Samples: -7}
			out := slices.Repeat([]probe.PairStats{sentinel}, len(dsts)+1)
			found := slices.Repeat([]bool{true}, len(dsts)+1)
			h := s.From(src, dsts, out, found)
			if h != tt.health || h != s.Health(src) {
				t.Errorf("From health = %v, want %v (Health says %v)", h, tt.health, s.Health(src))
			}
			for i, d := range dsts {
				want, wantOK := s.Pair(src, d)
				if out[i] != want || found[i] != wantOK {
					t.Errorf("From(%v)[%d] = %+v, %v; Pair = %+v, %v", d, i, out[i], found[i], want, wantOK)
				}
				if found[i] != (tt.srtt[i] >= 0) || (found[i] && out[i].SRTT != tt.srtt[i]) {
					t.Errorf("From(%v)[%d] = SRTT %v, found %v; want SRTT %v", d, i, out[i].SRTT, found[i], tt.srtt[i])
				}
			}
			if out[len(dsts)] != sentinel || !found[len(dsts)] {
				t.Error("From wrote past len(dsts)")
			}
		})
	}
}

func TestFromShortOutput(t *testing.T) {
	s := probe.NewStore()
	defer func() {
		if recover() == nil {
			t.Error("From with out shorter than dsts did not panic")
		}
	}()
	s.From(addr("2001:db8::1"), []netip.Addr{addr("2001:db8:1::1")}, nil, make([]bool, 1))
}

// TestFromConcurrent reads with From while outcomes are reported (for -race).
func TestFromConcurrent(t *testing.T) {
	s := probe.NewStore()
	src := addr("2001:db8::1")
	dsts := []netip.Addr{addr("2001:db8:1::1"), addr("2001:db8:1::2")}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			s.Report(outcome("2001:db8::1", dsts[i%2].String(), probe.Success, time.Millisecond, t0))
		}
	})
	out, found := make([]probe.PairStats, 2), make([]bool, 2)
	for range 200 {
		s.From(src, dsts, out, found)
	}
	wg.Wait()
	if s.From(src, dsts, out, found) != probe.Alive || !found[0] || !found[1] || out[0].Successes != 100 {
		t.Errorf("after the reports: %+v, %v", out, found)
	}
}

func TestNearbyPrefix(t *testing.T) {
	tests := []struct{ dst, want string }{
		{"2001:db8:aa:bb::1", "2001:db8::/32"},
		{"fe80::1%eth0", "fe80::/32"},
		{"fd12:3456:789a::1", "fd12:3456::/32"},
		{"198.51.100.7", "198.51.96.0/20"},
		{"10.1.255.1", "10.1.240.0/20"},
	}
	for _, tt := range tests {
		t.Run(tt.dst, func(t *testing.T) {
			if got := probe.NearbyPrefix(addr(tt.dst)); got != netip.MustParsePrefix(tt.want) {
				t.Errorf("NearbyPrefix(%s) = %v, want %s", tt.dst, got, tt.want)
			}
		})
	}
	if got := probe.NearbyPrefix(netip.Addr{}); got != (netip.Prefix{}) {
		t.Errorf("NearbyPrefix(invalid) = %v, want the zero Prefix", got)
	}
}

func ExampleNearbyPrefix() {
	fmt.Println(probe.NearbyPrefix(netip.MustParseAddr("2001:db8:aa::1")))
	fmt.Println(probe.NearbyPrefix(netip.MustParseAddr("198.51.100.7")))
	// Output:
	// 2001:db8::/32
	// 198.51.96.0/20
}

func ExampleStore_From() {
	s := probe.NewStore()
	src := netip.MustParseAddr("2001:db8::1")
	s.Report(probe.Outcome{
		Path: probe.Path{
			Src: netip.AddrPortFrom(src, 0),
			Dst: netip.MustParseAddrPort("[2001:db8:1::1]:443"),
		},
		Result:   probe.Success,
		Duration: 12 * time.Millisecond,
	})
	dsts := []netip.Addr{netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("2001:db8:2::1")}
	out, found := make([]probe.PairStats, len(dsts)), make([]bool, len(dsts))
	h := s.From(src, dsts, out, found)
	fmt.Println("source:", h)
	for i, d := range dsts {
		fmt.Println(d, found[i], out[i].SRTT)
	}
	// Output:
	// source: alive
	// 2001:db8:1::1 true 12ms
	// 2001:db8:2::1 false 0s
}

// TestEvictionBoundOfOne checks that WithMaxPairs(1) keeps the pair just
// reported (7/8 of one is none).
func TestEvictionBoundOfOne(t *testing.T) {
	s := probe.NewStore(probe.WithMaxPairs(1))
	now := time.Now()
	s.Report(outcome(srcA, dstD, probe.Success, 10*time.Millisecond, now))
	s.Report(outcome(srcA, "2001:db8:e::1", probe.Success, 10*time.Millisecond, now.Add(time.Second)))
	if _, ok := s.Pair(addr(srcA), addr("2001:db8:e::1")); !ok {
		t.Error("the pair just reported was evicted")
	}
	if _, ok := s.Pair(addr(srcA), addr(dstD)); ok {
		t.Error("the older pair was kept beyond the bound of one")
	}
}
