package probe_test

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// countPaths counts the connects per path.
func countPaths(ds []dial) map[probe.Path]int {
	n := map[probe.Path]int{}
	for _, d := range ds {
		n[d.Path]++
	}
	return n
}

// TestQuietBudget checks a quiet Prober: nothing before the application asks;
// for a destination it dials, one probe per other candidate source after two
// seconds and then at most one a minute per path, never over the path the
// application measures itself; nothing for a destination with a single source;
// the gateways only once the status is asked for.
func TestQuietBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(twoUplinks, probe.ProberConfig{Quiet: true}, nil)
		defer l.p.Close()
		time.Sleep(5 * time.Minute)
		if got := l.net.seen(nil); len(got) != 0 {
			t.Fatalf("idle and asked nothing: %d connects: %v", len(got), got)
		}
		v4 := addrPort("198.51.100.1", 443)
		// The application dials tD over srcA every 250 ms for 25 s, and v4 (one
		// candidate source: nothing to choose) once.
		l.p.Want(v4)
		l.s.Report(outcome(src4, "198.51.100.1", probe.Success, 20*time.Millisecond, time.Now()))
		for range 100 {
			l.p.Want(tD)
			l.s.Report(probe.Outcome{Path: probe.Path{Src: addrPort(srcA, 0), Dst: tD}, Result: probe.Success,
				Start: time.Now(), Duration: 20 * time.Millisecond})
			time.Sleep(250 * time.Millisecond)
		}
		synctest.Wait()
		got := countPaths(l.net.seen(nil))
		want := map[probe.Path]int{{Src: addrPort(srcB, 0), Dst: tD}: 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("25 s of dials: connects %v, want %v", got, want)
		}
		if d := l.net.seen(nil)[0].at.Sub(time.Now().Add(-25 * time.Second)); d < 2*time.Second || d > 3*time.Second {
			t.Errorf("the probe came %v after the first dial, want after 2 s", d)
		}
		// Idle for 10 minutes: at most one probe a minute per path, and none once tD
		// was last dialed more than QuietWantTTL ago.
		lastDial := time.Now()
		time.Sleep(10 * time.Minute)
		byPath := map[probe.Path][]time.Time{}
		for _, d := range l.net.seen(nil) {
			byPath[d.Path] = append(byPath[d.Path], d.at)
			if d.Dst != tD {
				t.Errorf("a connect over %v", d.Path)
			}
			if d.at.After(lastDial.Add(probe.QuietWantTTL + time.Minute)) {
				t.Errorf("a connect over %v %v after the last dial", d.Path, d.at.Sub(lastDial))
			}
		}
		for p, at := range byPath {
			for i := 1; i < len(at); i++ {
				if gap := at[i].Sub(at[i-1]); gap < probe.DefaultQuietInterval*9/10 {
					t.Errorf("%v probed twice within %v", p, gap)
				}
			}
			if len(at) > 7 {
				t.Errorf("%v probed %d times", p, len(at))
			}
		}
		// Status asked for: the gateways, from their own link.
		l.p.WantStatus()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := l.p.WaitRound(ctx); err != nil {
			t.Fatal(err)
		}
		got = countPaths(l.net.seen(nil))
		for _, p := range []probe.Path{{Src: addrPort(srcA, 0), Dst: gw6}, {Src: addrPort(src4, 0), Dst: gw4}} {
			if got[p] != 1 {
				t.Errorf("after WantStatus: %d connects over %v, want 1", got[p], p)
			}
		}
	})
}

// manyAddrs is a host with n IPv6 addresses on eth0 (its gateway gw6) and one on
// eth1.
func manyAddrs(n int) host {
	h := host{gw6: "2001:db8:a::1", routes: true, via: true}
	for i := range n {
		h.addrs = append(h.addrs, fmt.Sprintf("eth0 2001:db8:a::%x/64", 0x1000+i))
	}
	h.addrs = append(h.addrs, "eth1 2001:db8:b::10/64")
	return h
}

// TestProberFair checks that with 1,004 addresses and a black-holed gateway, a
// destination asked for is probed within about a second instead of waiting
// behind the gateway's probes.
func TestProberFair(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{rtt: 10 * time.Millisecond, broken: func(p probe.Path) (bool, error) { return p.Dst == gw6, nil }}
		l := newLab(manyAddrs(1003), probe.ProberConfig{}, f)
		defer l.p.Close()
		time.Sleep(3 * time.Second)
		if st := l.p.Stats(); st.Queued < 900 {
			t.Fatalf("Stats = %+v: the gateway's probes are not queued", st)
		}
		asked := time.Now()
		l.p.Want(tD)
		time.Sleep(5 * time.Second)
		first := l.net.seen(to(tD))
		if len(first) == 0 {
			t.Fatalf("the destination asked for was not probed within 5 s (%+v)", l.p.Stats())
		}
		if d := first[0].at.Sub(asked); d > time.Second {
			t.Errorf("the destination asked for waited %v", d)
		}
		// Half the connects may go to the rest at most: 4 of 8, each 5 s.
		if n := len(l.net.seen(to(tD))); n < 1004*9/10 {
			t.Errorf("%d of 1,004 paths to the destination asked for probed in 5 s", n)
		}
	})
}

// TestProberGoroutinesBounded changes the host's addresses every 100 ms for 40 s
// with a black-holed gateway and checks that the Prober never runs more than
// Concurrency+1 goroutines (its loop and its workers).
func TestProberGoroutinesBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{rtt: 10 * time.Millisecond, broken: func(p probe.Path) (bool, error) { return p.Dst == gw6, nil }}
		h := manyAddrs(50)
		l := newLab(h, probe.ProberConfig{}, f)
		defer l.p.Close()
		most := 0
		for i := range 400 {
			c := h
			c.addrs = append(append([]string(nil), h.addrs...), fmt.Sprintf("eth0 2001:db8:a::%x/64", 0x9000+i%7))
			snap := c.snap()
			snap.Generation = uint64(i + 2)
			l.w.Set(snap)
			l.p.Want(tD)
			time.Sleep(100 * time.Millisecond)
			most = max(most, proberGoroutines())
		}
		if limit := probe.DefaultConcurrency + 1; most > limit {
			t.Errorf("up to %d goroutines, bound %d", most, limit)
		}
		t.Logf("at most %d goroutines under churn (bound %d)", most, probe.DefaultConcurrency+1)
	})
}

// proberGoroutines counts the goroutines running a Prober's code (not counting
// the runtime's own, such as a context's deadline firing).
func proberGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "probe.(*Prober).") {
			n++
		}
	}
	return n
}

// TestProberFailedRouter checks that a FAILED router gets a connect from its
// link's source (on the port in use), which makes the kernel solicit it again.
func TestProberFailedRouter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := twoUplinks
		h.via = true
		l := newLab(h, probe.ProberConfig{Quiet: true}, nil)
		defer l.p.Close()
		l.p.Want(tD)
		time.Sleep(5 * time.Second)
		before := len(l.net.seen(nil))
		l.w.Set(withRouter(h, 2, netstate.NeighFailed))
		synctest.Wait()
		router := probe.Path{Src: addrPort(srcA, 0), Dst: netip.AddrPortFrom(addr("2001:db8:a::1"), tD.Port())}
		var got []dial
		for _, d := range l.net.seen(nil)[before:] {
			if d.Path == router {
				got = append(got, d)
			}
		}
		if len(got) != 1 {
			t.Errorf("connects to the FAILED router: %v, want one at once over %v", l.net.seen(nil)[before:], router)
		}
	})
}

// TestProberFasterEarlier checks that while the application dials, a path that was
// measured faster earlier is re-checked every RecheckBusy, and that when it is
// fast again its estimate follows at once (a confirming second connect).
func TestProberFasterEarlier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := time.Millisecond
		f := &fakeNet{rttOf: func(p probe.Path) time.Duration {
			if p.Src.Addr() == addr(srcA) {
				return 20 * ms
			}
			return 60 * ms
		}}
		l := newLab(twoUplinks, probe.ProberConfig{Quiet: true}, f)
		defer l.p.Close()
		dial := func(src string, rtt time.Duration) {
			l.s.Report(probe.Outcome{Path: probe.Path{Src: addrPort(src, 0), Dst: tD}, Result: probe.Success,
				Start: time.Now(), Duration: rtt})
		}
		for range 10 {
			dial(srcA, 20*ms)
		}
		for range 3 {
			dial(srcA, 100*ms) // A got 5× slower: the application moves to B
		}
		start := time.Now()
		for range 60 { // 15 s of dials over B
			l.p.Want(tD)
			dial(srcB, 60*ms)
			time.Sleep(250 * ms)
			if ps, _ := l.s.Pair(addr(srcA), addr(dstD)); ps.SRTT == 20*ms {
				break
			}
		}
		ps, _ := l.s.Pair(addr(srcA), addr(dstD))
		if ps.SRTT != 20*ms {
			t.Fatalf("A's SRTT %v after 15 s, want 20ms again", ps.SRTT)
		}
		if d := time.Since(start); d > probe.RecheckBusy+time.Second {
			t.Errorf("A was fast again after %v, want within %v", d, probe.RecheckBusy+time.Second)
		}
		if n := len(l.net.seen(from(srcA))); n != 2 {
			t.Errorf("%d connects over A, want 2 (a re-check and its confirmation)", n)
		}
	})
}
