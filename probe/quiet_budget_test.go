package probe_test

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/probe"
)

// TestDeadSourceRechecks: the application dials tD for 20 s; srcA times out
// (dead), srcB works. Then it is idle for 30 minutes. Every probe must go to tD
// (the dialed port), none once tD is no longer in use (5 min + a round), and the
// re-checks of srcA follow the backoff (no two within 1 s).
func TestDeadSourceRechecks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{rtt: 20 * time.Millisecond}
		f.setBroken(func(p probe.Path) (bool, error) { return p.Src.Addr() == addr(srcA), nil })
		l := newLab(twoUplinks, probe.ProberConfig{Quiet: true}, f)
		defer l.p.Close()
		for range 80 {
			l.p.Want(tD)
			l.s.Report(probe.Outcome{Path: probe.Path{Src: addrPort(srcB, 0), Dst: tD}, Result: probe.Success,
				Start: time.Now(), Duration: 20 * time.Millisecond})
			time.Sleep(250 * time.Millisecond)
		}
		last := time.Now()
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		var prev time.Time
		for _, d := range l.net.seen(from(srcA)) {
			if d.Dst != tD {
				t.Errorf("re-check over %v", d.Path)
			}
			if d.at.After(last.Add(probe.QuietWantTTL + 70*time.Second)) {
				t.Errorf("re-check over %v %v after the last dial", d.Path, d.at.Sub(last))
			}
			if !prev.IsZero() && d.at.Sub(prev) < time.Second {
				t.Errorf("re-checks %v apart", d.at.Sub(prev))
			}
			prev = d.at
		}
		t.Logf("srcA: %d connects, srcB: %d", len(l.net.seen(from(srcA))), len(l.net.seen(from(srcB))))
	})
}

// TestRecheckStopsWhenSourceGone: srcA is dead and being re-checked while
// the application dials; then srcA is removed from the host: no connect from it
// afterwards.
func TestRecheckStopsWhenSourceGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{rtt: 20 * time.Millisecond}
		f.setBroken(func(p probe.Path) (bool, error) {
			if p.Src.Addr() == addr(srcA) {
				return false, &netErr{syscall.EHOSTUNREACH}
			}
			return false, nil
		})
		l := newLab(twoUplinks, probe.ProberConfig{Quiet: true}, f)
		defer l.p.Close()
		for range 40 {
			l.p.Want(tD)
			l.s.Report(probe.Outcome{Path: probe.Path{Src: addrPort(srcB, 0), Dst: tD}, Result: probe.Success,
				Start: time.Now(), Duration: 20 * time.Millisecond})
			time.Sleep(250 * time.Millisecond)
		}
		gone := host{addrs: []string{"eth0 192.168.1.10/24", "eth1 2001:db8:b::10/64"}, gw4: "192.168.1.1", routes: true}
		snap := gone.snap()
		snap.Generation = 5
		l.w.Set(snap)
		at := time.Now()
		for range 240 { // keeps dialing for a minute
			l.p.Want(tD)
			time.Sleep(250 * time.Millisecond)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		for _, d := range l.net.seen(from(srcA)) {
			if d.at.After(at) {
				t.Errorf("connect from the removed source %v at +%v", d.Path, d.at.Sub(at))
			}
		}
	})
}

type netErr struct{ errno syscall.Errno }

func (e *netErr) Error() string { return e.errno.Error() }
func (e *netErr) Unwrap() error { return e.errno }

// TestManyDestinations: the application dials 5,000 distinct destinations
// (100 a second), then is idle. The queue stays bounded, every probe goes to a
// dialed destination at most once a minute per path, none after the TTL.
func TestManyDestinations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(twoUplinks, probe.ProberConfig{Quiet: true}, &fakeNet{rtt: 20 * time.Millisecond})
		defer l.p.Close()
		dialed := map[netip.AddrPort]bool{}
		maxQ := 0
		for i := range 5000 {
			d := netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xd, 0, 0, 0, 0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)}), 443)
			dialed[d] = true
			l.p.Want(d)
			l.s.Report(probe.Outcome{Path: probe.Path{Src: addrPort(srcA, 0), Dst: d}, Result: probe.Success,
				Start: time.Now(), Duration: 20 * time.Millisecond})
			if i%10 == 0 {
				time.Sleep(100 * time.Millisecond)
			}
			maxQ = max(maxQ, l.p.Stats().Queued)
		}
		last := time.Now()
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		byPath := map[probe.Path][]time.Time{}
		for _, d := range l.net.seen(nil) {
			if !dialed[d.Dst] {
				t.Errorf("probe over %v", d.Path)
			}
			if d.at.After(last.Add(probe.QuietWantTTL + 70*time.Second)) {
				t.Errorf("probe %v %v after the last dial", d.Path, d.at.Sub(last))
			}
			byPath[d.Path] = append(byPath[d.Path], d.at)
		}
		for p, ts := range byPath {
			for i := 1; i < len(ts); i++ {
				if ts[i].Sub(ts[i-1]) < time.Minute {
					t.Errorf("%v probed twice within %v", p, ts[i].Sub(ts[i-1]))
				}
			}
		}
		t.Logf("%d probes over %d paths, max queued %d, targets %d", len(l.net.seen(nil)), len(byPath), maxQ, l.p.Stats().Targets)
	})
}

// TestRecheckBurst: srcA was measured at 20 ms to tD, then timed out twice
// while srcB worked (dead). The application keeps dialing tD over srcB. srcA's
// path is back, but over a 200 ms route. The README's budget for a re-check is
// one connect, plus up to two confirming ones back to back when the answer is
// far from the estimate: never more than three connects over one path within
// a second, and after them srcA's estimate is the new path's, not the 20 ms of
// before (what the confirmations are for).
func TestRecheckBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{rttOf: func(p probe.Path) time.Duration {
			if p.Src.Addr() == addr(srcA) {
				return 200 * time.Millisecond
			}
			return 60 * time.Millisecond
		}}
		l := newLab(twoUplinks, probe.ProberConfig{Quiet: true}, f)
		defer l.p.Close()
		pathA := probe.Path{Src: addrPort(srcA, 0), Dst: tD}
		pathB := probe.Path{Src: addrPort(srcB, 0), Dst: tD}
		for range 5 {
			l.s.Report(probe.Outcome{Path: pathA, Result: probe.Success, Start: time.Now(), Duration: 20 * time.Millisecond})
			l.s.Report(probe.Outcome{Path: pathB, Result: probe.Success, Start: time.Now(), Duration: 60 * time.Millisecond})
		}
		l.s.Report(probe.Outcome{Path: pathA, Result: probe.Timeout, Start: time.Now(), Duration: time.Second})
		l.s.Report(probe.Outcome{Path: pathA, Result: probe.Timeout, Start: time.Now(), Duration: time.Second})
		if h := l.s.Health(addr(srcA)); h != probe.Dead {
			t.Fatalf("srcA %v, want dead", h)
		}
		for range 240 { // a minute of dials over srcB
			l.p.Want(tD)
			l.s.Report(probe.Outcome{Path: pathB, Result: probe.Success, Start: time.Now(), Duration: 60 * time.Millisecond})
			time.Sleep(250 * time.Millisecond)
		}
		synctest.Wait()
		ds := l.net.seen(from(srcA))
		for i := range ds {
			n := 1
			for j := i + 1; j < len(ds) && ds[j].at.Sub(ds[i].at) < time.Second; j++ {
				n++
			}
			if n > 3 {
				t.Errorf("%d connects over %v within a second, from +%v", n, ds[i].Path, ds[i].at.Sub(ds[0].at))
				break
			}
		}
		var at []time.Duration
		for _, d := range ds {
			at = append(at, d.at.Sub(ds[0].at))
		}
		t.Logf("connects from srcA at %v; health %v", at, l.s.Health(addr(srcA)))
		if ps, ok := l.s.Pair(addr(srcA), tD.Addr()); !ok || ps.SRTT < 150*time.Millisecond {
			t.Errorf("srcA's estimate after its re-check: %v (%v), want the new path's 200 ms", ps.SRTT, ok)
		}
	})
}

// TestFasterEarlierOnlyWhileDialed: the application dialed dstY once (its
// path from srcA got slower: 20 ms, then 100 ms), then dials only tD, every
// 250 ms, for four minutes. The README re-checks a path measured faster earlier
// "while the program dials that destination"; dstY, not dialed again, keeps the
// quiet budget: at most one connect per path per minute.
//
// The full rounds' jitter decides whether the loop wakes 10 s after one: the
// scenario runs up to eight times (about 3 in 4 runs show it alone).
func TestFasterEarlierOnlyWhileDialed(t *testing.T) {
	var found string
	for range 8 {
		if found != "" {
			break
		}
		synctest.Test(t, func(t *testing.T) {
			f := &fakeNet{rttOf: func(p probe.Path) time.Duration {
				if p.Src.Addr() == addr(srcA) {
					return 100 * time.Millisecond
				}
				return 60 * time.Millisecond
			}}
			l := newLab(twoUplinks, probe.ProberConfig{Quiet: true}, f)
			defer l.p.Close()
			dstY := addrPort("2001:db8:e::1", 443)
			pathAY := probe.Path{Src: addrPort(srcA, 0), Dst: dstY}
			l.p.Want(dstY)
			for _, rtt := range []time.Duration{20, 20, 20, 20, 20, 100, 100, 100} {
				l.s.Report(probe.Outcome{Path: pathAY, Result: probe.Success, Start: time.Now(), Duration: rtt * time.Millisecond})
			}
			if ps, _ := l.s.Pair(addr(srcA), dstY.Addr()); ps.SRTT < 90*time.Millisecond {
				t.Fatalf("SRTT %v: the estimate did not restart", ps.SRTT)
			}
			start := time.Now()
			for range 4 * 60 * 4 {
				l.p.Want(tD)
				l.s.Report(probe.Outcome{Path: probe.Path{Src: addrPort(srcA, 0), Dst: tD}, Result: probe.Success,
					Start: time.Now(), Duration: 100 * time.Millisecond})
				l.s.Report(probe.Outcome{Path: probe.Path{Src: addrPort(srcB, 0), Dst: tD}, Result: probe.Success,
					Start: time.Now(), Duration: 60 * time.Millisecond})
				time.Sleep(250 * time.Millisecond)
			}
			synctest.Wait()
			ds := l.net.seen(func(d dial) bool { return d.Path == pathAY })
			var at []time.Duration
			for _, d := range ds {
				at = append(at, d.at.Sub(start).Round(time.Second))
			}
			for i := 1; i < len(ds); i++ {
				// A row-3 re-check in the first 10 s after dstY's dial is allowed;
				// afterwards dstY is not dialed, and its paths get the quiet budget.
				if gap := ds[i].at.Sub(ds[i-1].at); ds[i-1].at.Sub(start) > 20*time.Second && gap < 30*time.Second {
					found = fmt.Sprintf("dstY dialed once at 0 s, then only tD for 4 min: connects over %v at %v: two %v apart; want at most one a minute", pathAY, at, gap)
					break
				}
			}
		})
	}
	if found != "" {
		t.Error(found)
	}
}
