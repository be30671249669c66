//go:build lab

package lab_test

import (
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// TestCutKeepNeighbors checks the heal that keeps the neighbour caches: the
// router's entry, FAILED during the cut, makes the kernel refuse IPv6 from
// uplink 0's source at once, until a connect to the router itself makes the
// kernel solicit it again.
func TestCutKeepNeighbors(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	a := l.Uplink(0)
	must(t, l.CutKeepNeighbors(0, true))
	el := mustFail(t, a.GUA, netip.AddrPortFrom(s.Open6, s.Port), 6*time.Second, syscall.EHOSTUNREACH)
	t.Logf("cut: EHOSTUNREACH after %v", el)
	must(t, l.CutKeepNeighbors(0, false))
	el = mustFail(t, a.GUA, netip.AddrPortFrom(s.Open6, s.Port), 6*time.Second, syscall.EHOSTUNREACH)
	if el > 100*time.Millisecond {
		t.Errorf("healed with the router FAILED: EHOSTUNREACH after %v, want at once (the route is skipped)", el)
	}
	// A connect to the router (nothing listens: refused) resolves it again.
	if c, _, err := dial(netip.Addr{}, netip.AddrPortFrom(a.Router6, 80), 2*time.Second); err == nil {
		c.Close()
	}
	mustConnect(t, a.GUA, s.Open6, s.Port)
}

// TestMove moves uplink 0 to the other network and back.
func TestMove(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	home, away := l.Uplink(0), l.Away(0)
	if away.GUA == home.GUA || away.Router6 == home.Router6 || away.Router4 == home.Router4 || away.ULA.IsValid() {
		t.Fatalf("Away(0) = %+v: not another network", away)
	}
	must(t, l.Move(0, true))
	if got := peer(t, away.GUA, s.Open6, s.Port); got.Addr() != away.GUA {
		t.Errorf("away: server sees %v, want %v", got, away.GUA)
	}
	if got := peer(t, home.IPv4, s.Open4, s.Port); got.Addr() != home.IPv4Outside {
		t.Errorf("away: IPv4 server sees %v, want %v (NAT44)", got, home.IPv4Outside)
	}
	mustFail(t, home.GUA, netip.AddrPortFrom(s.Open6, s.Port), time.Second, syscall.EADDRNOTAVAIL)
	must(t, l.Move(0, false))
	if got := peer(t, home.GUA, s.Open6, s.Port); got.Addr() != home.GUA {
		t.Errorf("home: server sees %v, want %v", got, home.GUA)
	}
	if got := peer(t, home.ULA, s.Open6, s.Port); got.Addr() != home.ULAOutside {
		t.Errorf("home: server sees %v for the ULA, want %v (NPTv6)", got, home.ULAOutside)
	}
	mustFail(t, away.GUA, netip.AddrPortFrom(s.Open6, s.Port), time.Second, syscall.EADDRNOTAVAIL)
	// Restore brings a moved uplink home too.
	must(t, l.Move(0, true))
	must(t, l.Restore())
	mustConnect(t, home.GUA, s.Open6, s.Port)
}
