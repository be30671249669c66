package main

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// probeCounter counts a Selector's probe connects per path, and makes them: a
// TCP connect bound to the path's source (the lab has source-based policy
// routing, so the source alone picks the uplink).
type probeCounter struct {
	mu sync.Mutex
	n  map[probe.Path]int
}

func (pc *probeCounter) dial(ctx context.Context, p probe.Path) (net.Conn, error) {
	pc.mu.Lock()
	pc.n[p]++
	pc.mu.Unlock()
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(p.Src)}
	return d.DialContext(ctx, "tcp", p.Dst.String())
}

func (pc *probeCounter) snapshot() map[probe.Path]int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return maps.Clone(pc.n)
}

// waitProbed waits until every one of dsts has been probed, or ctx is done.
func (pc *probeCounter) waitProbed(ctx context.Context, dsts ...netip.Addr) error {
	return poll(ctx, func() bool {
		seen := map[netip.Addr]bool{}
		for p := range pc.snapshot() {
			seen[p.Dst.Addr()] = true
		}
		return !slices.ContainsFunc(dsts, func(d netip.Addr) bool { return !seen[d] })
	})
}

// idle measures the probe traffic of a Selector with probing on (quiet, the
// default, or eager) that has dialed the lab server once, finished its first
// probe round and probed the server, over cfg.idle of idleness.
func (r *runner) idle(ctx context.Context, eager bool) (*IdleResult, error) {
	pc := &probeCounter{n: map[probe.Path]int{}}
	opts := []pairs.Option{pairs.WithProbeDial(pc.dial)}
	if eager {
		opts = append(opts, pairs.WithEagerProbing())
	}
	sel, err := r.ds.newSelector(opts...)
	if err != nil {
		return nil, err
	}
	defer sel.Close()
	if _, err := r.ds.warm(sel)(ctx); err != nil {
		return nil, err
	}
	ictx, cancel := context.WithTimeout(ctx, r.cfg.learn)
	defer cancel()
	if err := sel.Init(ictx); err != nil {
		return nil, err
	}
	// The server became a destination with the dial; its first probes come in
	// an early round. Start watching after it, in the steady state.
	srv := r.l.Server()
	if err := pc.waitProbed(ictx, srv.Open6, srv.Open4); err != nil {
		return nil, fmt.Errorf("the server was not probed: %w", err)
	}
	fmt.Fprintf(r.log, "gaprbench: idle probe traffic for %v (eager %v)\n", r.cfg.idle, eager)
	before, start := pc.snapshot(), time.Now()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(r.cfg.idle):
	}
	res := idleTraffic(before, pc.snapshot(), time.Since(start))
	res.Eager = eager
	for _, t := range res.Targets {
		fmt.Fprintf(r.log, "  %-22v %d paths, %d connects\n", t.Dst, t.Paths, t.Connects)
	}
	return res, nil
}

// idleTraffic sums up the connects made between two counts, per destination
// (sorted), counting the paths that connected at least once.
func idleTraffic(before, after map[probe.Path]int, d time.Duration) *IdleResult {
	byDst := map[netip.AddrPort]*IdleTarget{}
	for p, n := range after {
		n -= before[p]
		if n <= 0 {
			continue
		}
		t := byDst[p.Dst]
		if t == nil {
			t = &IdleTarget{Dst: p.Dst}
			byDst[p.Dst] = t
		}
		t.Paths++
		t.Connects += n
	}
	res := &IdleResult{Duration: d}
	for _, dst := range slices.SortedFunc(maps.Keys(byDst), func(a, b netip.AddrPort) int { return a.Compare(b) }) {
		res.Targets = append(res.Targets, *byDst[dst])
	}
	return res
}
