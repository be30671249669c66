package probe_test

import (
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// sample reports a success from src to dst with an RTT of rtt, ending now.
func sample(s *probe.Store, src, dst string, rtt time.Duration) {
	s.Report(outcome(src, dst, probe.Success, rtt, time.Now().Add(-rtt)))
}

func srtt(t *testing.T, s *probe.Store, src, dst string) time.Duration {
	t.Helper()
	ps, ok := s.Pair(addr(src), addr(dst))
	if !ok {
		t.Fatalf("no pair %s -> %s", src, dst)
	}
	return ps.SRTT
}

// TestRTTShift checks that a path whose delay changed is followed within a few
// samples, while a lone outlier and jitter move the estimate by an eighth only.
func TestRTTShift(t *testing.T) {
	ms := time.Millisecond
	s := probe.NewStore()
	for range 20 {
		sample(s, srcA, dstD, 20*ms)
	}
	sample(s, srcA, dstD, 100*ms) // an outlier
	if got := srtt(t, s, srcA, dstD); got != 30*ms {
		t.Fatalf("after one outlier SRTT = %v, want 30ms (an eighth of the way)", got)
	}
	if !s.Unsettled(addr(srcA), addr(dstD)) {
		t.Error("a sample far above the estimate leaves it settled")
	}
	for range 10 {
		sample(s, srcA, dstD, 20*ms)
	}
	// The path gets 5× slower: the third sample in a row far above restarts it.
	sample(s, srcA, dstD, 100*ms)
	sample(s, srcA, dstD, 100*ms)
	if got := srtt(t, s, srcA, dstD); got >= 50*ms {
		t.Fatalf("after two slow samples SRTT = %v already", got)
	}
	sample(s, srcA, dstD, 100*ms)
	if got := srtt(t, s, srcA, dstD); got != 100*ms {
		t.Fatalf("after three slow samples SRTT = %v, want 100ms", got)
	}
	if s.Unsettled(addr(srcA), addr(dstD)) {
		t.Error("unsettled after the estimate moved")
	}
	// Faster earlier: a re-check candidate once its last result is old enough.
	if got, _ := s.Slower(time.Now().Add(probe.RecheckBusy), probe.RecheckBusy); !slices.Equal(got, []probe.AddrPair{{Src: addr(srcA), Dst: addr(dstD)}}) {
		t.Errorf("Slower = %v, want the pair", got)
	}
	if got, next := s.Slower(time.Now(), probe.RecheckBusy); len(got) != 0 || time.Until(next) > probe.RecheckBusy || time.Until(next) < probe.RecheckBusy-time.Second {
		t.Errorf("Slower = %v, %v for a pair measured just now; want none, due in %v", got, next, probe.RecheckBusy)
	}
	// Fast again: two samples far below restart it.
	sample(s, srcA, dstD, 20*ms)
	if got := srtt(t, s, srcA, dstD); got >= 100*ms || got < 80*ms {
		t.Fatalf("after one fast sample SRTT = %v, want about 90ms", got)
	}
	sample(s, srcA, dstD, 20*ms)
	if got := srtt(t, s, srcA, dstD); got != 20*ms {
		t.Fatalf("after two fast samples SRTT = %v, want 20ms", got)
	}
	if got, _ := s.Slower(time.Now().Add(time.Hour), 0); len(got) != 0 {
		t.Errorf("Slower = %v once fast again", got)
	}
}

// TestRTTJitter checks that ±2 ms of jitter never restarts the estimate.
func TestRTTJitter(t *testing.T) {
	s := probe.NewStore()
	for i := range 200 {
		d := 20*time.Millisecond + time.Duration(i%5-2)*time.Millisecond
		sample(s, srcA, dstD, d)
		if got := srtt(t, s, srcA, dstD); got < 18*time.Millisecond || got > 22*time.Millisecond {
			t.Fatalf("sample %d (%v): SRTT %v", i, d, got)
		}
	}
}

// withRouter returns h's snapshot with the neighbour entry of its IPv6 router on
// eth0 (index 1) in state st.
func withRouter(h host, gen uint64, st netstate.NeighState) *netstate.Snapshot {
	snap := h.snap()
	snap.Generation = gen
	snap.Neighbors = []netstate.Neighbor{{Index: 1, IP: snap.Gateway6, HWAddr: "02:00:00:00:00:0a", State: st}}
	return snap
}

// TestRouterFailed checks that a FAILED router makes its link's sources of that
// family suspect and due for a re-check at once, and that they are let go when
// it answers again.
func TestRouterFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := twoUplinks
		h.via = true
		s := probe.NewStore()
		s.Observe(withRouter(h, 1, netstate.NeighReachable))
		sample(s, srcA, dstD, 20*time.Millisecond)
		sample(s, srcB, dstD, 60*time.Millisecond)
		s.Observe(withRouter(h, 2, netstate.NeighFailed))
		wantHealth(t, s, srcA, probe.Suspect)
		wantHealth(t, s, srcB, probe.Alive)
		wantHealth(t, s, src4, probe.Unknown) // its router (IPv4) did not fail
		select {
		case <-s.Due():
		default:
			t.Error("no re-check signalled")
		}
		if due := s.Recheck(time.Now(), false); !slices.Equal(due, []netip.Addr{addr(srcA)}) {
			t.Fatalf("Recheck = %v, want %v at once", due, srcA)
		}
		// The router stays FAILED: re-checked again, with backoff.
		next, ok := s.NextRecheck()
		if !ok || time.Until(next) != 2*time.Second {
			t.Errorf("next re-check in %v (%v), want 2s", time.Until(next), ok)
		}
		s.Observe(withRouter(h, 3, netstate.NeighReachable))
		wantHealth(t, s, srcA, probe.Unknown)
		if due := s.Recheck(time.Now(), false); !slices.Equal(due, []netip.Addr{addr(srcA)}) {
			t.Errorf("Recheck after the router answered = %v, want %v (the link revived)", due, srcA)
		}
		if _, ok := s.NextRecheck(); ok {
			t.Error("a re-check is still scheduled")
		}
	})
}

// routerFailed returns the host twoUplinks (with a via route) and a Store
// that has seen srcA work and then eth0's router FAILED (generation 2), with
// srcA suspect.
func routerFailed(t *testing.T) (host, *probe.Store) {
	t.Helper()
	h := twoUplinks
	h.via = true
	s := probe.NewStore()
	s.Observe(withRouter(h, 1, netstate.NeighReachable))
	sample(s, srcA, dstD, 20*time.Millisecond)
	s.Observe(withRouter(h, 2, netstate.NeighFailed))
	wantHealth(t, s, srcA, probe.Suspect)
	return h, s
}

// TestRouterSolicitedAgain checks that a FAILED router solicited again
// (INCOMPLETE, then FAILED again, as while something sends through it) keeps
// its episode: its source, made suspect once, is not let go by INCOMPLETE, nor
// made suspect again by the next FAILED after a success; it is let go when the
// router answers.
func TestRouterSolicitedAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, s := routerFailed(t)
		s.Recheck(time.Now(), false)
		s.Observe(withRouter(h, 3, netstate.NeighIncomplete))
		wantHealth(t, s, srcA, probe.Suspect)
		time.Sleep(time.Second)
		sample(s, srcA, dstD, 20*time.Millisecond) // the source works all the same
		wantHealth(t, s, srcA, probe.Alive)
		if _, ok := s.NextRecheck(); ok {
			t.Error("a re-check is still scheduled for a source that works")
		}
		s.Observe(withRouter(h, 4, netstate.NeighFailed))
		wantHealth(t, s, srcA, probe.Alive)
		s.Observe(withRouter(h, 5, netstate.NeighReachable))
		s.Observe(withRouter(h, 6, netstate.NeighFailed)) // a new episode
		wantHealth(t, s, srcA, probe.Suspect)
	})
}

// TestRouterEpisodeNeedsProof checks that during a FAILED router's episode a
// success to a host on the source's own prefix (reached without the router)
// does not prove the source, nor does its router's entry being dropped end
// the episode: the source stays suspect and re-checked.
func TestRouterEpisodeNeedsProof(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, s := routerFailed(t)
		time.Sleep(time.Second)
		sample(s, srcA, "2001:db8:a::20", time.Millisecond) // on eth0's prefix
		wantHealth(t, s, srcA, probe.Suspect)
		gone := withRouter(h, 3, netstate.NeighFailed)
		gone.Neighbors = nil // the FAILED entry dropped (neighbour GC, a flush)
		s.Observe(gone)
		wantHealth(t, s, srcA, probe.Suspect)
		s.Observe(withRouter(h, 4, netstate.NeighFailed))
		wantHealth(t, s, srcA, probe.Suspect)
		if _, ok := s.NextRecheck(); !ok {
			t.Error("no re-check scheduled for a source whose router is still FAILED")
		}
	})
}

// TestRouterFailedSourceSpecific checks that with two upstream routers on one
// link, each the default router of its own prefix's sources (Route.From), a
// FAILED router makes its own sources suspect, not the other router's.
func TestRouterFailedSourceSpecific(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ll := func(s string) netip.Addr { return addr(s).WithZone("eth0") }
		snap := func(gen uint64, a netstate.NeighState) *netstate.Snapshot {
			return &netstate.Snapshot{
				Generation: gen,
				Links:      []netstate.Link{{Index: 1, Name: "eth0", Up: true, Running: true}},
				Addrs: []netstate.Addr{
					{IP: addr(srcA), Bits: 64, Index: 1, Interface: "eth0"},
					{IP: addr(srcB), Bits: 64, Index: 1, Interface: "eth0"},
				},
				Routes: []netstate.Route{
					{Dst: netip.MustParsePrefix("::/0"), From: netip.MustParsePrefix("2001:db8:a::/48"), Gateway: ll("fe80::a"), Index: 1},
					{Dst: netip.MustParsePrefix("::/0"), From: netip.MustParsePrefix("2001:db8:b::/48"), Gateway: ll("fe80::b"), Index: 1},
				},
				Neighbors: []netstate.Neighbor{
					{Index: 1, IP: ll("fe80::a"), HWAddr: "02:00:00:00:00:0a", State: a},
					{Index: 1, IP: ll("fe80::b"), HWAddr: "02:00:00:00:00:0b", State: netstate.NeighReachable},
				},
			}
		}
		s := probe.NewStore()
		s.Observe(snap(1, netstate.NeighReachable))
		sample(s, srcA, dstD, 20*time.Millisecond)
		sample(s, srcB, dstD, 60*time.Millisecond)
		s.Observe(snap(2, netstate.NeighFailed))
		wantHealth(t, s, srcA, probe.Suspect)
		wantHealth(t, s, srcB, probe.Alive)
		if due := s.Recheck(time.Now(), false); !slices.Equal(due, []netip.Addr{addr(srcA)}) {
			t.Errorf("Recheck = %v, want %v alone", due, srcA)
		}
	})
}

// TestRevivalByEvent checks that a change on a dead source's link re-checks it at
// once and starts its backoff over, instead of waiting for the backoff.
func TestRevivalByEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := probe.NewStore()
		s.Observe(twoUplinks.snap())
		kill(s)       // srcA dead of traffic
		for range 7 { // backoff up to 60 s
			next, _ := s.NextRecheck()
			time.Sleep(time.Until(next))
			s.Recheck(time.Now(), false)
		}
		next, _ := s.NextRecheck()
		if d := time.Until(next); d != probe.RecheckMax {
			t.Fatalf("backoff %v, want %v", d, probe.RecheckMax)
		}
		time.Sleep(time.Second)
		down := twoUplinks
		down.down = []string{"eth0"}
		snap := down.snap()
		snap.Generation = 2
		s.Observe(snap) // carrier lost: dead by the kernel, not re-checked
		if due := s.Recheck(time.Now(), false); len(due) != 0 {
			t.Fatalf("Recheck without carrier = %v", due)
		}
		up := twoUplinks.snap()
		up.Generation = 3
		s.Observe(up) // carrier back
		wantHealth(t, s, srcA, probe.Unknown)
		if due := s.Recheck(time.Now(), false); !slices.Contains(due, addr(srcA)) {
			t.Fatalf("Recheck after the carrier came back = %v, want %v at once", due, srcA)
		}
	})
}

// killBesideB makes srcA dead: two timeouts to dstD while srcB works to it
// (60 ms).
func killBesideB(t *testing.T, s *probe.Store) {
	t.Helper()
	sample(s, srcB, dstD, 60*time.Millisecond)
	report(s, srcA, dstD, probe.Timeout)
	report(s, srcA, dstD, probe.Timeout)
	wantHealth(t, s, srcA, probe.Dead)
}

// recheckGaps makes the next n re-checks of s as they fall due, the
// application dialing when busy, and returns the waits before them.
func recheckGaps(s *probe.Store, n int, busy bool) []time.Duration {
	var gaps []time.Duration
	for range n {
		next, _ := s.NextRecheck()
		gaps = append(gaps, time.Until(next))
		time.Sleep(time.Until(next))
		s.Recheck(time.Now(), busy)
	}
	return gaps
}

// TestRecheckBusy checks that a dead source that would rank first is re-checked
// at least every RecheckBusy while the application dials, and one that would not
// keeps the full backoff.
func TestRecheckBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, c := range []struct {
			name  string
			rttA  time.Duration
			limit time.Duration
		}{
			{"faster than the live source", 20 * time.Millisecond, probe.RecheckBusy},
			{"slower than the live source", 90 * time.Millisecond, probe.RecheckMax},
		} {
			s := probe.NewStore()
			s.Observe(twoUplinks.snap())
			sample(s, srcA, dstD, c.rttA)
			killBesideB(t, s)
			gaps := recheckGaps(s, 8, true)
			if last := gaps[len(gaps)-1]; last != c.limit {
				t.Errorf("%s: re-check gaps %v, want up to %v", c.name, gaps, c.limit)
			}
		}
	})
}

// TestRecheckBusyAfterIdle checks that a dead source whose backoff grew to
// RecheckMax while the application was idle is re-checked RecheckBusy after
// the application starts dialing, not at the end of that long backoff.
func TestRecheckBusyAfterIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := probe.NewStore()
		s.Observe(twoUplinks.snap())
		sample(s, srcA, dstD, 20*time.Millisecond)
		killBesideB(t, s)
		recheckGaps(s, 8, false) // idle: 1, 2, 4 ... 60 s apart
		next, _ := s.NextRecheck()
		if gap := time.Until(next); gap != probe.RecheckMax {
			t.Fatalf("idle backoff %v, want %v", gap, probe.RecheckMax)
		}
		time.Sleep(5 * time.Second)
		s.Recheck(time.Now(), true) // the application dials
		next, _ = s.NextRecheck()
		if gap := time.Until(next); gap != probe.RecheckBusy {
			t.Errorf("next re-check %v after the application started dialing, want %v", gap, probe.RecheckBusy)
		}
		time.Sleep(time.Until(next))
		if due := s.Recheck(time.Now(), true); len(due) != 1 {
			t.Errorf("re-checks due %v, want %s's", due, srcA)
		}
		next, _ = s.NextRecheck()
		if gap := time.Until(next); gap != probe.RecheckBusy {
			t.Errorf("then %v apart, want %v", gap, probe.RecheckBusy)
		}
	})
}

// TestRecheckBusyForgetsOldFloor checks that the lowest estimate a pair held
// counts for the busy re-checks only lately (floorTTL): a dead source whose
// path was fast long ago and slow since is re-checked as one that would not
// rank first.
func TestRecheckBusyForgetsOldFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := probe.NewStore()
		s.Observe(twoUplinks.snap())
		for range 5 {
			sample(s, srcA, dstD, 20*time.Millisecond)
		}
		for range 3 { // the path moved: the estimate restarts at 100 ms
			sample(s, srcA, dstD, 100*time.Millisecond)
		}
		if got := srtt(t, s, srcA, dstD); got != 100*time.Millisecond {
			t.Fatalf("SRTT %v after the move, want 100ms", got)
		}
		time.Sleep(10 * time.Minute)
		killBesideB(t, s)
		gaps := recheckGaps(s, 8, true)
		if last := gaps[len(gaps)-1]; last != probe.RecheckMax {
			t.Errorf("re-check gaps %v, want up to %v (100ms is slower than the live 60ms)", gaps, probe.RecheckMax)
		}
	})
}

// TestTranslatorOutage checks that a translated source failing while its whole
// link fails (an outage) does not leave "NAT44 tried, not seen", that it does
// when another source of the link works meanwhile, and that the verdict is tried
// again when the link comes back.
func TestTranslatorOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			global4 = "198.51.100.1"
			gua     = "2001:db8:a::10"
		)
		h := host{addrs: []string{"eth0 192.168.1.10/24", "eth0 2001:db8:a::10/64", "eth1 203.0.113.10/24"}, routes: true}
		s := probe.NewStore()
		s.Observe(h.snap())
		sample(s, "203.0.113.10", global4, 60*time.Millisecond)
		sample(s, gua, dstD, 20*time.Millisecond)
		// Outage of eth0: the GUA fails too.
		start := time.Now()
		time.Sleep(time.Second)
		s.Report(outcome(gua, dstD, probe.Timeout, time.Second, start.Add(time.Second)))
		s.Report(outcome(src4, global4, probe.Timeout, 2*time.Second, start))
		if tr := s.Translators(); tr.NAT44Tried {
			t.Fatalf("during an outage of the link: %+v, want NAT44 not tried", tr)
		}
		// NAT44 absent: the GUA on the same link works during the attempt.
		start = time.Now()
		time.Sleep(time.Second)
		sample(s, gua, dstD, 20*time.Millisecond)
		time.Sleep(time.Second)
		s.Report(outcome(src4, global4, probe.Timeout, 2*time.Second, start))
		if tr := s.Translators(); !tr.NAT44Tried || tr.NAT44 {
			t.Fatalf("with the link working: %+v, want NAT44 tried, not seen", tr)
		}
		// The link comes back from a carrier loss: tried again.
		down := h
		down.down = []string{"eth0"}
		ds := down.snap()
		ds.Generation = 2
		s.Observe(ds)
		up := h.snap()
		up.Generation = 3
		s.Observe(up)
		if tr := s.Translators(); tr.NAT44Tried {
			t.Errorf("after the link came back: %+v, want NAT44 not tried", tr)
		}
	})
}

// wantSRTT is a pair's expected SRTT, within 2 ms.
type wantSRTT struct {
	src, dst string
	srtt     time.Duration
}

// wantSRTTs checks the SRTT of each pair of want in s; when says at which step.
func wantSRTTs(t *testing.T, s *probe.Store, when string, want []wantSRTT) {
	t.Helper()
	for _, w := range want {
		if got := srtt(t, s, w.src, w.dst); got < w.srtt-2*time.Millisecond || got > w.srtt+2*time.Millisecond {
			t.Errorf("%s: %s -> %s: SRTT %v, want about %v", when, w.src, w.dst, got, w.srtt)
		}
	}
}

// TestSlowLink checks that a path that got slower makes its link's other pairs
// slower too (they share the uplink), and leaves the other link's alone; and
// that the link getting fast again brings them back down.
func TestSlowLink(t *testing.T) {
	ms := time.Millisecond
	s := probe.NewStore()
	s.Observe(twoUplinks.snap())
	const dst4 = "198.51.100.1"
	for range 5 {
		sample(s, srcA, dstD, 20*ms)
		sample(s, src4, dst4, 20*ms)
		sample(s, srcB, dstD, 60*ms)
		sample(s, src4, "192.168.1.1", 1*ms) // on-link: not behind the uplink
	}
	for range 3 {
		sample(s, srcA, dstD, 100*ms)
	}
	wantSRTTs(t, s, "slower", []wantSRTT{
		{srcA, dstD, 100 * ms},
		{src4, dst4, 100 * ms},
		{srcB, dstD, 60 * ms},
		{src4, "192.168.1.1", ms},
	})
	got, _ := s.Slower(time.Now().Add(probe.RecheckBusy), probe.RecheckBusy)
	want := []probe.AddrPair{{Src: addr(src4), Dst: addr(dst4)}, {Src: addr(srcA), Dst: addr(dstD)}}
	if !slices.Equal(got, want) {
		t.Errorf("Slower = %v, want %v", got, want)
	}

	// The uplink is fast again: two samples far below restart srcA's estimate,
	// and the pair slowLink raised comes down with it, without a sample of its
	// own (a dial that can no longer use srcA would otherwise leave the link).
	for range 2 {
		sample(s, srcA, dstD, 20*ms)
	}
	wantSRTTs(t, s, "fast again", []wantSRTT{
		{srcA, dstD, 20 * ms},
		{src4, dst4, 20 * ms},
		{srcB, dstD, 60 * ms},
		{src4, "192.168.1.1", ms},
	})
	if got, _ := s.Slower(time.Now().Add(probe.RecheckBusy), probe.RecheckBusy); len(got) != 0 {
		t.Errorf("fast again: Slower = %v, want none", got)
	}
}

// TestFastLinkKeepsOwnSlowdown: one destination's path got slower (three
// 100 ms connects after many of 20 ms) and is known at 100 ms ("A path that
// got five times slower is known after three connects"). slowLink then lifts
// the link's other pair by 80 ms; that pair's own samples bring it back down
// (two 20 ms connects), which only takes back the lift: it is no sign that the
// link got faster, and the first pair, whose own samples said 100 ms, keeps
// them (it once went back to 20 ms without a sample of its own).
func TestFastLinkKeepsOwnSlowdown(t *testing.T) {
	h := host{addrs: []string{"eth0 2001:db8:a::10/64"}, gw6: "fe80::1%eth0", routes: true}
	s := probe.NewStore()
	s.Observe(h.snap())
	const src, x, y = "2001:db8:a::10", "2001:db8:1::1", "2a00:1::1"
	at := t0
	rep := func(dst string, d time.Duration) {
		s.Report(outcome(src, dst, probe.Success, d, at))
		at = at.Add(time.Second)
	}
	for range 10 {
		rep(x, 20*time.Millisecond)
		rep(y, 20*time.Millisecond)
	}
	for range 3 {
		rep(x, 100*time.Millisecond) // x's route changed
	}
	px, _ := s.Pair(addr(src), addr(x))
	if px.SRTT != 100*time.Millisecond {
		t.Fatalf("x after three slow samples: SRTT %v, want 100ms", px.SRTT)
	}
	for range 2 {
		rep(y, 20*time.Millisecond) // y never changed
	}
	px, _ = s.Pair(addr(src), addr(x))
	py, _ := s.Pair(addr(src), addr(y))
	if px.SRTT < 90*time.Millisecond {
		t.Errorf("x: SRTT %v (its last three samples were 100ms, none since); want about 100ms (y: %v)", px.SRTT, py.SRTT)
	}
}
