package probe_test

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// fakeNet is a fake Dial: every path answers after rtt unless broken says it drops
// packets (the connect then hangs until its deadline) or fails with an error.
type fakeNet struct {
	rtt   time.Duration
	rttOf func(p probe.Path) time.Duration // when set, the RTT of each path instead

	mu       sync.Mutex
	broken   func(p probe.Path) (drop bool, err error) // nil: every path works
	dials    []dial
	inFlight int
	maxIn    int
}

// dial is one connect the fake saw.
type dial struct {
	probe.Path
	at time.Time
}

func (f *fakeNet) setBroken(fn func(p probe.Path) (bool, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.broken = fn
}

func (f *fakeNet) Dial(ctx context.Context, p probe.Path) (net.Conn, error) {
	f.mu.Lock()
	f.dials = append(f.dials, dial{p, time.Now()})
	f.inFlight++
	f.maxIn = max(f.maxIn, f.inFlight)
	var drop bool
	var err error
	if f.broken != nil {
		drop, err = f.broken(p)
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	rtt := f.rtt
	if f.rttOf != nil {
		rtt = f.rttOf(p)
	}
	wait := time.After(rtt)
	if drop {
		wait = nil
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait:
	}
	if err != nil {
		return nil, err
	}
	c, other := net.Pipe()
	other.Close()
	return c, nil
}

// seen returns the connects so far, optionally only those matching keep.
func (f *fakeNet) seen(keep func(d dial) bool) []dial {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []dial
	for _, d := range f.dials {
		if keep == nil || keep(d) {
			out = append(out, d)
		}
	}
	return out
}

// to keeps the connects to dst.
func to(dst netip.AddrPort) func(d dial) bool {
	return func(d dial) bool { return d.Dst == dst }
}

// from keeps the connects from src.
func from(src string) func(d dial) bool {
	return func(d dial) bool { return d.Src.Addr() == addr(src) }
}

// candidates pairs a destination with every source of its family and scope (the
// same zone for link-local), the way package pairs does in essence.
func candidates(w netstate.Watcher) func(netip.AddrPort) []probe.Path {
	return func(dst netip.AddrPort) []probe.Path {
		var out []probe.Path
		for _, a := range w.Snapshot().Sources() {
			ll := dst.Addr().IsLinkLocalUnicast()
			if a.IP.Is6() != dst.Addr().Is6() || a.IP.IsLinkLocalUnicast() != ll || (ll && a.IP.Zone() != dst.Addr().Zone()) {
				continue
			}
			out = append(out, probe.Path{Src: netip.AddrPortFrom(a.IP, 0), Dst: dst})
		}
		return out
	}
}

// fakeLab is a Prober on a fake network, for use inside a synctest bubble.
type fakeLab struct {
	w   *netstate.Static
	s   *probe.Store
	net *fakeNet
	p   *probe.Prober
}

// newLab starts a Prober over h and the fake network f (nil: every path works with
// a 10 ms RTT); cfg's Candidates and Dial are filled in.
func newLab(h host, cfg probe.ProberConfig, f *fakeNet) *fakeLab {
	if f == nil {
		f = &fakeNet{rtt: 10 * time.Millisecond}
	}
	l := &fakeLab{w: netstate.NewStatic(h.snap()), s: probe.NewStore(), net: f}
	cfg.Candidates = candidates(l.w)
	cfg.Dial = l.net.Dial
	l.p = probe.NewProber(l.s, l.w, cfg)
	follow(l.w, l.s, l.p)
	return l
}

// follow feeds w's snapshots to s and their changes to p, the way a Selector does.
func follow(w netstate.Watcher, s *probe.Store, p *probe.Prober) (unsubscribe func()) {
	var mu sync.Mutex
	last := w.Snapshot()
	return w.Subscribe(func(snap *netstate.Snapshot) {
		mu.Lock()
		d := netstate.Changes(last, snap)
		last = snap
		mu.Unlock()
		s.Observe(snap)
		p.Changed(d)
	})
}
