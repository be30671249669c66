package main

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/getapr/getapr/probe"
)

func TestIdleTraffic(t *testing.T) {
	path := func(src, dst string) probe.Path {
		return probe.Path{Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst)}
	}
	a6, b6 := "[2001:db8:a:1::100]:0", "[2001:db8:b:1::100]:0"
	srv6, srv4, gw := "[2001:db8:5::10]:80", "192.0.2.10:80", "10.1.0.1:80"
	before := map[probe.Path]int{
		path(a6, srv6): 2, path(b6, srv6): 2, path("10.1.0.100:0", srv4): 1, path("10.1.0.100:0", gw): 4,
	}
	after := map[probe.Path]int{
		path(a6, srv6): 8, path(b6, srv6): 7, path("10.1.0.100:0", srv4): 7,
		path("203.0.113.100:0", srv4): 6, // new in the window
		path("10.1.0.100:0", gw):      4, // no connect in the window
	}
	got := idleTraffic(before, after, time.Minute)
	want := &IdleResult{Duration: time.Minute, Targets: []IdleTarget{
		{Dst: netip.MustParseAddrPort(srv4), Paths: 2, Connects: 12},
		{Dst: netip.MustParseAddrPort(srv6), Paths: 2, Connects: 11},
	}}
	if got.Duration != want.Duration || !slices.Equal(got.Targets, want.Targets) {
		t.Errorf("idleTraffic = %+v; want %+v", got, want)
	}
	if w := got.worstPathRate(); w != 1 {
		t.Errorf("worstPathRate = %v; want 1 (6 connects per path in a minute)", w)
	}
}
