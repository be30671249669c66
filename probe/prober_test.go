package probe_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/probe"
)

var (
	gw4 = addrPort("192.168.1.1", 80)
	gw6 = addrPort("2001:db8:a::1", 80)
	tD  = addrPort(dstD, 443)
)

func TestProberFirstRound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(twoUplinks, probe.ProberConfig{}, nil)
		defer l.p.Close()
		start := time.Now()
		if err := l.p.WaitRound(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 10*time.Millisecond {
			t.Errorf("first round took %v, want one RTT (10ms)", d)
		}
		// Each gateway from the sources on its own link only: not srcB -> gw6.
		want := []probe.Path{
			{Src: addrPort(srcA, 0), Dst: gw6},
			{Src: addrPort(src4, 0), Dst: gw4},
		}
		got := l.net.seen(nil)
		if len(got) != len(want) {
			t.Fatalf("connects = %v, want %v", got, want)
		}
		for _, p := range want {
			if !slices.ContainsFunc(got, func(d dial) bool { return d.Path == p }) {
				t.Errorf("no connect over %v", p)
			}
			if ps, ok := l.s.Pair(p.Src.Addr(), p.Dst.Addr()); !ok || ps.SRTT != 10*time.Millisecond {
				t.Errorf("Pair(%v) = %+v, %v", p, ps, ok)
			}
		}
		if st := l.s.Status(); !st.GUAOK || !st.IPv4OK {
			t.Errorf("Status = %+v", st)
		}
		if st := l.p.Stats(); st.Connects != 2 || st.Rounds != 1 || st.Targets != 2 || st.InFlight != 0 {
			t.Errorf("Stats = %+v", st)
		}
	})
}

func TestProberRateBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		targets := []netip.AddrPort{tD, addrPort("2001:db8:e::1", 443), addrPort("198.51.100.1", 443)}
		// connects take long enough to overlap: the concurrency bound matters
		l := newLab(twoUplinks, probe.ProberConfig{Targets: targets, Concurrency: 2}, &fakeNet{rtt: 700 * time.Millisecond})
		defer l.p.Close()
		const run = 10 * time.Minute
		time.Sleep(run)
		synctest.Wait()
		// 7 paths: 2 IPv6 targets from 2 sources, the IPv6 gateway from 1, 2 IPv4
		// destinations from 1.
		paths := map[probe.Path][]time.Time{}
		for _, d := range l.net.seen(nil) {
			paths[d.Path] = append(paths[d.Path], d.at)
		}
		if len(paths) != 7 {
			t.Fatalf("%d paths probed, want 7", len(paths))
		}
		interval := probe.DefaultInterval
		lo, hi := int(run/(interval*11/10)), int(run/(interval*9/10))+1
		for p, at := range paths {
			if len(at) < lo || len(at) > hi {
				t.Errorf("%v probed %d times in %v, want %d..%d", p, len(at), run, lo, hi)
			}
			for i := 1; i < len(at); i++ {
				if gap := at[i].Sub(at[i-1]); gap < interval*9/10-2*l.net.rtt {
					t.Errorf("%v probed twice within %v", p, gap)
				}
			}
		}
		if l.net.maxIn > 2 {
			t.Errorf("%d connects in flight, want at most 2", l.net.maxIn)
		}
		total := len(l.net.seen(nil))
		t.Logf("idle rate: %d connects over %d paths in %v = %.1f/min", total, len(paths), run, float64(total)/run.Minutes())
	})
}

func TestProberWant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(twoUplinks, probe.ProberConfig{}, nil)
		defer l.p.Close()
		l.p.WaitRound(context.Background())
		time.Sleep(200 * time.Millisecond)

		asked := time.Now()
		l.p.Want(tD)
		time.Sleep(time.Second)
		synctest.Wait()
		got := l.net.seen(to(tD))
		if len(got) != 2 {
			t.Fatalf("connects to %v within 1 s of Want: %v, want 2 (one per IPv6 source)", tD, got)
		}
		for _, d := range got {
			if d.at.Sub(asked) > time.Second {
				t.Errorf("%v probed %v after Want", d.Path, d.at.Sub(asked))
			}
		}

		rounds := l.p.Stats().Rounds
		l.p.Want(tD) // probed recently: nothing to do
		for i := range 50 {
			l.p.Want(addrPort(fmt.Sprintf("2001:db8:f::%x", i+1), 443))
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if n := len(l.net.seen(to(tD))); n != 2 {
			t.Errorf("Want of a destination just probed made %d more connects", n-2)
		}
		if r := l.p.Stats().Rounds - rounds; r != 1 {
			t.Errorf("51 Wants within a second made %d rounds, want 1", r)
		}
	})
}

func TestProberTargetCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		configured := []netip.AddrPort{tD, addrPort("2001:db8:e::1", 443), addrPort("198.51.100.1", 443)}
		l := newLab(twoUplinks, probe.ProberConfig{Targets: configured}, nil)
		defer l.p.Close()
		var wanted []netip.AddrPort
		for i := range 30 {
			dst := addrPort(fmt.Sprintf("203.0.113.%d", i+1), 443)
			wanted = append(wanted, dst)
			l.p.Want(dst)
			time.Sleep(time.Millisecond)
		}
		l.p.Want(gw4) // a kept target: not counted twice
		got := l.p.Targets()
		want := append([]netip.AddrPort{gw6, gw4}, configured...)
		for i := 29; i >= 15; i-- {
			want = append(want, wanted[i])
		}
		if !slices.Equal(got, want) {
			t.Errorf("Targets =\n%v\nwant\n%v", got, want)
		}
		time.Sleep(probe.DefaultInterval * 2)
		synctest.Wait()
		if n := len(l.net.seen(to(wanted[0]))); n > 1 {
			t.Errorf("a dropped destination was probed %d times", n)
		}
		if st := l.p.Stats(); st.Targets != 20 {
			t.Errorf("Stats.Targets = %d, want 20", st.Targets)
		}
	})
}

func TestProberNetworkChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(twoUplinks, probe.ProberConfig{}, nil)
		defer l.p.Close()
		l.p.WaitRound(context.Background())
		time.Sleep(3 * time.Second)

		h := twoUplinks
		h.gw6 = "2001:db8:a::2"
		changed := time.Now()
		rounds := l.p.Stats().Rounds
		for range 10 { // the same change, published again and again
			l.w.Set(h.snap())
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		newGW := addrPort("2001:db8:a::2", 80)
		got := l.net.seen(to(newGW))
		if len(got) != 1 || got[0].at.Sub(changed) > time.Second {
			t.Errorf("connects to the new gateway: %v (changed at %v)", got, changed)
		}
		if n := len(l.net.seen(to(gw6))); n != 1 {
			t.Errorf("old gateway probed %d times, want once (first round only)", n)
		}
		if r := l.p.Stats().Rounds - rounds; r != 1 {
			t.Errorf("one change made %d rounds, want 1", r)
		}
		// The early round reprobed the IPv4 gateway, although it was probed 3 s ago.
		if n := len(l.net.seen(to(gw4))); n != 2 {
			t.Errorf("IPv4 gateway probed %d times, want 2", n)
		}

		// Changes that keep coming: at most one round a second.
		rounds = l.p.Stats().Rounds
		for i := range 40 {
			h.gw4 = fmt.Sprintf("192.168.1.%d", 100+i)
			l.w.Set(h.snap())
			time.Sleep(100 * time.Millisecond)
		}
		if r := l.p.Stats().Rounds - rounds; r < 3 || r > 5 {
			t.Errorf("40 changes in 4 s made %d rounds, want 4 or so", r)
		}
	})
}

// sourceStatus returns src's entry in s's Status.
func sourceStatus(t *testing.T, s *probe.Store, src string) probe.SourceStatus {
	t.Helper()
	for _, ss := range s.Status().Sources {
		if ss.Addr == addr(src) {
			return ss
		}
	}
	t.Fatalf("%s not in Status", src)
	return probe.SourceStatus{}
}

func TestProberDeadSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := probe.ProberConfig{Targets: []netip.AddrPort{tD}, Timeout: time.Second}
		start := time.Now()
		l := newLab(twoUplinks, cfg, &fakeNet{rtt: 10 * time.Millisecond, broken: func(p probe.Path) (bool, error) {
			return p.Src.Addr() == addr(srcA) && p.Dst == tD, nil // uplink A drops beyond its gateway
		}})
		defer l.p.Close()

		// First round: A suspect when its 1 s timeout ends; its re-check a second
		// later times out too: dead at 3 s.
		time.Sleep(15 * time.Second)
		ss := sourceStatus(t, l.s, srcA)
		if ss.Health != probe.Dead {
			t.Fatalf("after 15 s: %+v, want dead", ss)
		}
		died := ss.Since
		if d := died.Sub(start); d != 3*time.Second {
			t.Errorf("dead %v after the start, want 3 s (a round, then a re-check of the suspect source)", d)
		}

		time.Sleep(time.Until(died.Add(40 * time.Second)))
		synctest.Wait()
		var at []time.Duration
		for _, d := range l.net.seen(from(srcA)) {
			if s := d.at.Sub(died); s > 0 && !slices.Contains(at, s) {
				at = append(at, s)
			}
		}
		// Re-checks 1, 2, 4, 8, 16 s apart; nothing else from the dead source.
		want := []time.Duration{1 * time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second, 31 * time.Second}
		if !slices.Equal(at, want) {
			t.Errorf("connects from the dead source %v after its death, want %v", at, want)
		}

		l.net.setBroken(nil) // healed 40 s after death; the next re-check is at 63 s
		time.Sleep(time.Until(died.Add(64 * time.Second)))
		ss = sourceStatus(t, l.s, srcA)
		if want := died.Add(63*time.Second + l.net.rtt); ss.Health != probe.Alive || !ss.Since.Equal(want) {
			t.Errorf("after healing: %+v, want alive since %v (the next re-check and one RTT)", ss, want.Sub(died))
		}
	})
}

func TestProberClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drop := func(probe.Path) (bool, error) { return true, nil }
		l := newLab(twoUplinks, probe.ProberConfig{}, &fakeNet{broken: drop})
		time.Sleep(10 * time.Millisecond)
		if n := l.p.Stats().InFlight; n != 2 {
			t.Errorf("InFlight = %d, want 2", n)
		}
		if err := l.p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.p.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
		if err := l.p.WaitRound(context.Background()); !errors.Is(err, net.ErrClosed) {
			t.Errorf("WaitRound after Close = %v, want net.ErrClosed", err)
		}
		if got := l.s.Health(addr(srcA)); got != probe.Unknown {
			t.Errorf("connects cut short by Close were reported: %v", got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		l2 := newLab(twoUplinks, probe.ProberConfig{}, &fakeNet{broken: drop})
		defer l2.p.Close()
		if err := l2.p.WaitRound(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("WaitRound = %v, want the context's deadline", err)
		}
	})
}

func TestProberGatewayFromItsLink(t *testing.T) {
	tests := []struct {
		name string
		gw6  string
		from []string
	}{
		{"in a prefix", "2001:db8:b::1", []string{srcB}},
		{"link-local with zone", "fe80::1%eth1", []string{"fe80::10%eth1"}},
		{"by its default route", "2001:db8:77::1", []string{srcA}},
		{"nowhere known", "2001:db8:99::1", []string{srcA, srcB}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := twoUplinks
				h.addrs = append(slices.Clip(h.addrs), "eth1 fe80::10/64")
				h.gw6 = tt.gw6
				h.via = tt.name == "by its default route"
				l := newLab(h, probe.ProberConfig{}, nil)
				defer l.p.Close()
				time.Sleep(2 * time.Second)
				var got []string
				for _, d := range l.net.seen(to(netip.AddrPortFrom(addr(tt.gw6), 80))) {
					if s := d.Src.Addr().String(); !slices.Contains(got, s) {
						got = append(got, s)
					}
				}
				slices.Sort(got)
				if !slices.Equal(got, tt.from) {
					t.Errorf("gateway probed from %v, want %v", got, tt.from)
				}
			})
		})
	}
}

func TestNewProberWithoutCandidates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewProber without Candidates did not panic")
		}
	}()
	probe.NewProber(probe.NewStore(), nil, probe.ProberConfig{})
}

// TestProberRecheckBusyAfterIdle checks the busy promise from the
// application's first dial after an idle spell: a dead source that would
// rank first, whose backoff grew to RecheckMax while idle, is re-checked
// RecheckBusy after the application dials again, not when that backoff ends.
func TestProberRecheckBusyAfterIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeNet{rtt: 20 * time.Millisecond}
		f.setBroken(func(p probe.Path) (bool, error) { return p.Src.Addr() == addr(srcA), nil })
		l := newLab(twoUplinks, probe.ProberConfig{Quiet: true}, f)
		defer l.p.Close()
		sample(l.s, srcA, dstD, 20*time.Millisecond)
		sample(l.s, srcB, dstD, 60*time.Millisecond)
		report(l.s, srcA, dstD, probe.Timeout)
		report(l.s, srcA, dstD, probe.Timeout)
		wantHealth(t, l.s, srcA, probe.Dead)
		l.p.Want(tD)
		time.Sleep(3 * time.Minute) // idle: A's backoff grows to RecheckMax
		next, _ := l.s.NextRecheck()
		time.Sleep(time.Until(next) + time.Second) // just after a re-check: the next is RecheckMax away
		synctest.Wait()
		resumed := time.Now()
		fromA := func(d dial) bool { return d.Src.Addr() == addr(srcA) && d.at.After(resumed) }
		for range 4 * int(probe.RecheckBusy/time.Second+2) { // dialing D four times a second
			l.p.Want(tD)
			time.Sleep(250 * time.Millisecond)
			synctest.Wait()
			if len(l.net.seen(fromA)) > 0 {
				break
			}
		}
		seen := l.net.seen(fromA)
		if len(seen) == 0 || seen[0].at.Sub(resumed) > probe.RecheckBusy+time.Second {
			t.Errorf("re-checks of the dead source after the application dialed again: %v; want the first within %v", seen, probe.RecheckBusy)
		}
	})
}

// TestProberHugeInterval checks that an Interval near the largest Duration
// (meaning "never") leaves the first round the only one, rather than
// overflowing the jitter into a time past and rounds every second.
func TestProberHugeInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLab(twoUplinks, probe.ProberConfig{Interval: math.MaxInt64}, nil)
		defer l.p.Close()
		time.Sleep(time.Minute)
		synctest.Wait()
		if r := l.p.Stats().Rounds; r != 1 {
			t.Errorf("%d rounds in a minute with Interval %v, want 1", r, time.Duration(math.MaxInt64))
		}
	})
}
