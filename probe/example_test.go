package probe_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/getapr/getapr/probe"
)

// The dialer reports every attempt; the ranking reads back what was learned.
func ExampleStore() {
	s := probe.NewStore()
	src := netip.MustParseAddrPort("[2001:db8:a::10]:0")
	dst := netip.MustParseAddrPort("[2001:db8:d::1]:443")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, rtt := range []time.Duration{40 * time.Millisecond, 24 * time.Millisecond} {
		s.Report(probe.Outcome{Path: probe.Path{Src: src, Dst: dst}, Result: probe.Success, Start: start, Duration: rtt})
	}
	ps, _ := s.Pair(src.Addr(), dst.Addr())
	fmt.Println("srtt", ps.SRTT, "rttvar", ps.RTTVar, "samples", ps.Samples)
	near, _ := s.Nearby(src.Addr(), netip.MustParseAddr("2001:db8:e::1"))
	fmt.Println("nearby srtt", near.SRTT)
	fmt.Println("health", s.Health(src.Addr()))
	// Output:
	// srtt 38ms rttvar 19ms samples 2
	// nearby srtt 38ms
	// health alive
}

func ExampleResultOf() {
	fmt.Println(probe.ResultOf(nil), probe.ResultOf(context.DeadlineExceeded))
	// Output: success timeout
}
