//go:build lab && linux

package probe_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/getapr/getapr/internal/lab"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

func TestMain(m *testing.M) { os.Exit(lab.Main(m, lab.Options{})) }

// labProber runs a Store and a Prober on the real host (the lab's client
// namespace), probing the lab server's open addresses.
type labProber struct {
	l *lab.Lab
	w *netstate.Monitor
	s *probe.Store
	p *probe.Prober
}

func newLabProber(t *testing.T, cfg probe.ProberConfig) *labProber {
	t.Helper()
	l := lab.Current(t)
	w, err := netstate.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := l.Server()
	if cfg.Targets == nil {
		cfg.Targets = []netip.AddrPort{netip.AddrPortFrom(srv.Open6, srv.Port), netip.AddrPortFrom(srv.Open4, srv.Port)}
	}
	cfg.Candidates = candidates(w)
	lp := &labProber{l: l, w: w, s: probe.NewStore()}
	lp.p = probe.NewProber(lp.s, w, cfg)
	unsub := follow(w, lp.s, lp.p)
	t.Cleanup(func() {
		unsub()
		lp.p.Close()
		w.Close()
	})
	return lp
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wait polls cond every millisecond until it holds, and returns when it first held;
// it fails the test after limit.
func wait(t *testing.T, limit time.Duration, what string, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Now()
}

func TestLabTranslatorsDetected(t *testing.T) {
	lp := newLabProber(t, probe.ProberConfig{Timeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := lp.p.WaitRound(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("first round: %v", time.Since(start))
	st := lp.s.Status()
	if !st.NAT44 || !st.NAT44Tried || !st.NPTv6 || !st.NPTv6Tried {
		t.Errorf("translators: NAT44 %v (tried %v), NPTv6 %v (tried %v); want all detected",
			st.NAT44, st.NAT44Tried, st.NPTv6, st.NPTv6Tried)
	}
	if !st.GUAOK || !st.ULAOK || !st.IPv4OK || !st.LLAOK || !st.ULAPresent || !st.RFC1918 {
		t.Errorf("Status = %+v", st)
	}
	srv := lp.l.Server()
	for i := range 2 {
		u := lp.l.Uplink(i)
		ps, ok := lp.s.Pair(u.GUA, srv.Open6)
		t.Logf("uplink %d (RTT %v): %v -> %v SRTT %v RTTVar %v", i, u.RTT, u.GUA, srv.Open6, ps.SRTT, ps.RTTVar)
		if !ok || ps.SRTT < u.RTT || ps.SRTT > u.RTT+10*time.Millisecond {
			t.Errorf("uplink %d: SRTT %v, want about %v", i, ps.SRTT, u.RTT)
		}
	}
}

// traffic connects over each path every period, the way an application's dials
// would, and reports each outcome, until the returned func is called.
func traffic(s *probe.Store, paths []probe.Path, period, timeout time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Go(func() {
			for ctx.Err() == nil {
				d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(p.Src), Timeout: timeout}
				start := time.Now()
				c, err := d.DialContext(ctx, "tcp", p.Dst.String())
				o := probe.Outcome{Path: p, Result: probe.ResultOf(err), Start: start, Duration: time.Since(start)}
				if c != nil {
					c.Close()
				}
				s.Report(o)
				select {
				case <-ctx.Done():
				case <-time.After(period):
				}
			}
		})
	}
	return func() { cancel(); wg.Wait() }
}

func TestLabBlackholeDeadAndRevived(t *testing.T) {
	lp := newLabProber(t, probe.ProberConfig{Timeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := lp.p.WaitRound(ctx); err != nil {
		t.Fatal(err)
	}
	srv, a, b := lp.l.Server(), lp.l.Uplink(0), lp.l.Uplink(1)
	open6, open4 := netip.AddrPortFrom(srv.Open6, srv.Port), netip.AddrPortFrom(srv.Open4, srv.Port)
	var paths []probe.Path
	for _, src := range []netip.Addr{a.GUA, a.ULA, b.GUA} {
		paths = append(paths, probe.Path{Src: netip.AddrPortFrom(src, 0), Dst: open6})
	}
	for _, src := range []netip.Addr{a.IPv4, b.IPv4} {
		paths = append(paths, probe.Path{Src: netip.AddrPortFrom(src, 0), Dst: open4})
	}
	stop := traffic(lp.s, paths, 250*time.Millisecond, time.Second)
	defer stop()

	must(t, lp.l.Blackhole(0, true))
	cut := time.Now()
	for _, src := range []netip.Addr{a.GUA, a.ULA, a.IPv4} {
		at := wait(t, 10*time.Second, src.String()+" dead", func() bool { return lp.s.Health(src) == probe.Dead })
		t.Logf("uplink 0 blackholed: %v dead after %v", src, at.Sub(cut))
		if d := at.Sub(cut); d > 3*time.Second {
			t.Errorf("%v dead only after %v, want within a few seconds of traffic", src, d)
		}
	}
	for _, src := range []netip.Addr{b.GUA, b.IPv4} {
		if h := lp.s.Health(src); h != probe.Alive {
			t.Errorf("uplink 1 source %v: %v, want alive", src, h)
		}
	}
	time.Sleep(4 * time.Second) // dead for a while: the backoff grows
	stop()                      // from now on only the prober's re-checks
	next := map[netip.Addr]time.Time{}
	for _, ss := range lp.s.Status().Sources {
		if ss.Health == probe.Dead {
			next[ss.Addr] = ss.NextCheck
		}
	}
	for _, ad := range lp.w.Snapshot().Addrs {
		if ad.IP.IsLinkLocalUnicast() && ad.Interface == a.Interface {
			if h := lp.s.Health(ad.IP); h == probe.Dead {
				t.Errorf("link-local source %v of uplink 0: dead, but its gateway still answers", ad.IP)
			}
		}
	}
	must(t, lp.l.Blackhole(0, false))
	healed := time.Now()
	for _, src := range []netip.Addr{a.GUA, a.ULA, a.IPv4} {
		at := wait(t, probe.RecheckMax+2*time.Second, src.String()+" revived", func() bool { return lp.s.Health(src) == probe.Alive })
		t.Logf("healed: %v alive after %v (its re-check was due %v after healing)", src, at.Sub(healed), next[src].Sub(healed).Round(time.Millisecond))
		if late := at.Sub(next[src]); late > 500*time.Millisecond {
			t.Errorf("%v revived %v after its re-check was due", src, late)
		}
	}
}

// addrEvents reports when the kernel announces the removal of an IPv6 address.
func addrEvents(t *testing.T, ip netip.Addr) <-chan time.Time {
	t.Helper()
	c, err := rtnetlink.Dial(&netlink.Config{Groups: unix.RTMGRP_IPV6_IFADDR})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan time.Time, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			msgs, raw, err := c.Receive()
			at := time.Now()
			if err != nil {
				return
			}
			for i, m := range msgs {
				am, ok := m.(*rtnetlink.AddressMessage)
				if !ok || raw[i].Header.Type != unix.RTM_DELADDR || am.Attributes == nil {
					continue
				}
				if got, _ := netip.AddrFromSlice(am.Attributes.Address); got == ip {
					select {
					case out <- at:
					default:
					}
				}
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return out
}

func TestLabAddressRemovedPurges(t *testing.T) {
	lp := newLabProber(t, probe.ProberConfig{Timeout: time.Second})
	srv := lp.l.Server()
	open6 := netip.AddrPortFrom(srv.Open6, srv.Port)
	extra := netip.MustParsePrefix("2001:db8:b:1::200/64")
	must(t, lp.l.AddClientAddr(1, extra))
	wait(t, 5*time.Second, "new address seen", func() bool {
		_, ok := lp.w.Snapshot().Addr(extra.Addr())
		return ok
	})
	if h := lp.s.Health(extra.Addr()); h != probe.Unknown {
		t.Errorf("new address: %v, want unknown", h)
	}
	lp.p.Want(open6)
	wait(t, 3*time.Second, "new address probed", func() bool {
		_, ok := lp.s.Pair(extra.Addr(), srv.Open6)
		return ok
	})

	events := addrEvents(t, extra.Addr())
	must(t, lp.l.RemoveClientAddr(1, extra))
	purged := wait(t, 5*time.Second, "pairs purged", func() bool {
		_, ok := lp.s.Pair(extra.Addr(), srv.Open6)
		return !ok
	})
	var event time.Time
	select {
	case event = <-events:
	case <-time.After(5 * time.Second):
		t.Fatal("no RTM_DELADDR seen")
	}
	d := purged.Sub(event)
	t.Logf("address removed: pairs purged %v after the netlink event", d)
	if d > 100*time.Millisecond {
		t.Errorf("pairs purged %v after the netlink event, want under 100 ms", d)
	}
	for _, ss := range lp.s.Status().Sources {
		if ss.Addr == extra.Addr() {
			t.Errorf("removed address still in Status: %+v", ss)
		}
	}
}

func TestLabIdleProbeRate(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of idle probing")
	}
	lp := newLabProber(t, probe.ProberConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := lp.p.WaitRound(ctx); err != nil {
		t.Fatal(err)
	}
	first := lp.p.Stats()
	const run = time.Minute
	time.Sleep(run)
	st := lp.p.Stats()
	paths := first.Connects // the first round probed every path once
	rounds := st.Rounds - first.Rounds
	connects := st.Connects - first.Connects
	perMin := float64(connects) / run.Minutes()
	bound := paths * uint64(run/(probe.DefaultInterval*9/10))
	t.Logf("idle: %d paths, %d rounds and %d connects in %v (%.1f connects/min; bound %d)", paths, rounds, connects, run, perMin, bound)
	if connects > bound {
		t.Errorf("%d connects in %v, want at most %d", connects, run, bound)
	}
	if connects < paths*uint64(run/(probe.DefaultInterval*11/10)) {
		t.Errorf("%d connects in %v: the prober stalled", connects, run)
	}
}
