package dialer

import (
	"context"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// step scripts one fake attempt: it ends after `after` with err (nil: a
// connection), or when its context is done unless stubborn.
type step struct {
	after    time.Duration
	err      error
	stubborn bool // ignores cancellation, like a connect that completes anyway
	hang     bool // never ends by itself; only its context ends it
}

// fakeConn is a connection that records whether it was closed.
type fakeConn struct {
	net.Conn // nil: any other method panics
	src      netip.Addr
	closed   atomic.Bool
}

func (c *fakeConn) Close() error {
	if c.closed.Swap(true) {
		return net.ErrClosed
	}
	return nil
}

// started is one attempt start as the fake network saw it.
type started struct {
	src netip.Addr
	at  time.Duration // since the fake network was made
}

// fakeNet plays the steps keyed by the pair's source address and records what
// happened. Use it inside a synctest bubble: its times are the bubble's.
type fakeNet struct {
	t0    time.Time
	steps map[netip.Addr]step

	mu       sync.Mutex
	starts   []started
	conns    []*fakeConn
	outcomes []probe.Outcome
}

func newFakeNet(steps map[netip.Addr]step) *fakeNet {
	return &fakeNet{t0: time.Now(), steps: steps}
}

func (f *fakeNet) dial(ctx context.Context, p pairs.Pair) (net.Conn, error) {
	src := p.Src.Addr()
	f.mu.Lock()
	f.starts = append(f.starts, started{src, time.Since(f.t0)})
	f.mu.Unlock()
	s, ok := f.steps[src]
	if !ok {
		panic("no step for " + src.String())
	}
	if err := f.wait(ctx, s); err != nil {
		return nil, &net.OpError{Op: "dial", Net: p.Network("tcp"), Source: p.LocalAddr("tcp"), Addr: p.RemoteAddr("tcp"), Err: err}
	}
	if s.err != nil {
		return nil, &net.OpError{Op: "dial", Net: p.Network("tcp"), Source: p.LocalAddr("tcp"), Addr: p.RemoteAddr("tcp"), Err: s.err}
	}
	c := &fakeConn{src: src}
	f.mu.Lock()
	f.conns = append(f.conns, c)
	f.mu.Unlock()
	return c, nil
}

// wait blocks for the step's time; it returns ctx's error if ctx ends first.
func (f *fakeNet) wait(ctx context.Context, s step) error {
	if s.hang {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTimer(s.after)
	defer t.Stop()
	if s.stubborn {
		<-t.C
		return nil
	}
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeNet) report(o probe.Outcome) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.outcomes = append(f.outcomes, o)
}

// startTimes returns when each source's attempt started.
func (f *fakeNet) startTimes() map[netip.Addr]time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[netip.Addr]time.Duration, len(f.starts))
	for _, s := range f.starts {
		m[s.src] = s.at
	}
	return m
}

// results returns the reported Result of each source's attempt.
func (f *fakeNet) results() map[netip.Addr]probe.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[netip.Addr]probe.Result, len(f.outcomes))
	for _, o := range f.outcomes {
		m[o.Src.Addr()] = o.Result
	}
	return m
}

// newRace returns a race over ps that dials through f.
func (f *fakeNet) newRace(ps []pairs.Pair, delay time.Duration) *race {
	return &race{queue: &list{ps: ps}, dial: f.dial, report: f.report, result: probe.ResultOf, delay: delay, log: zap.NewNop()}
}

// Errors as a connect returns them.
var (
	errRefused     = os.NewSyscallError("connect", syscall.ECONNREFUSED)
	errUnreachable = os.NewSyscallError("connect", syscall.EHOSTUNREACH)
)

// testPairs returns n pairs from 192.0.2.1, .2, ... to 198.51.100.1:80, with
// the default latency basis.
func testPairs(n int) []pairs.Pair {
	ps := make([]pairs.Pair, n)
	for i := range ps {
		ps[i] = pairs.Pair{
			Src:       netip.AddrPortFrom(src(i), 0),
			Dst:       netip.MustParseAddrPort("198.51.100.1:80"),
			Interface: "eth" + string(rune('0'+i)),
		}
	}
	return ps
}

// src returns the source address of testPairs' pair i.
func src(i int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}) }

// manyPairs returns n pairs from 192.0.2.1 to n destinations, 198.51.0.0:80,
// 198.51.0.1:80, ...: a name with n A records.
func manyPairs(n int) []pairs.Pair {
	ps := make([]pairs.Pair, n)
	for i := range ps {
		ps[i] = pairs.Pair{
			Src: netip.AddrPortFrom(src(0), 0),
			Dst: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), 80),
		}
	}
	return ps
}
