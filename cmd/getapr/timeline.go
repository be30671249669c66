package main

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/getapr/getapr/pairs"
)

// timeline records the attempts of one dial as the dialer reports them.
type timeline struct {
	t0       time.Time
	mu       sync.Mutex
	attempts []*attempt
}

// attempt is one connect attempt of a dial.
type attempt struct {
	src, dst  string // address forms; src "" when unknown
	iface     string
	start     time.Duration // since the dial began
	finished  bool
	dur       time.Duration
	err       error
	pair      pairs.Pair
	fromTrace bool // reported by the dialer, so pair is set
}

func newTimeline() *timeline { return &timeline{t0: time.Now()} }

// trace returns the callbacks that feed the timeline.
func (tl *timeline) trace() *attemptTrace {
	return &attemptTrace{start: tl.attemptStart, done: tl.attemptDone}
}

func (tl *timeline) attemptStart(p pairs.Pair) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.attempts = append(tl.attempts, pairAttempt(p, time.Since(tl.t0)))
}

func (tl *timeline) attemptDone(p pairs.Pair, d time.Duration, err error) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, a := range tl.attempts {
		if !a.finished && a.pair.Src == p.Src && a.pair.Dst == p.Dst {
			a.finished, a.dur, a.err = true, d, err
			return
		}
	}
	// A done without a start: place it where it must have started.
	a := pairAttempt(p, time.Since(tl.t0)-d)
	a.finished, a.dur, a.err = true, d, err
	tl.attempts = append(tl.attempts, a)
}

func pairAttempt(p pairs.Pair, start time.Duration) *attempt {
	a := &attempt{dst: p.Dst.String(), iface: p.Interface, start: start, pair: p, fromTrace: true}
	if src := p.Src.Addr(); src.IsValid() && !src.IsUnspecified() {
		a.src = src.String() // the kernel's choice (a Fallback pair): unknown
	}
	return a
}

// snapshot returns a copy of the attempts so far.
func (tl *timeline) snapshot() []attempt {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	out := make([]attempt, len(tl.attempts))
	for i, a := range tl.attempts {
		out[i] = *a
	}
	return out
}

// winnerIndex returns the index of the connected attempt whose pair matches conn's
// addresses (any source for a pair whose source the kernel chose, any
// destination for a pair to the unspecified address, the local system), or -1.
func winnerIndex(as []attempt, conn net.Conn) int {
	local, remote := addrPortOf(conn.LocalAddr()), addrPortOf(conn.RemoteAddr())
	for i, a := range as {
		if !a.fromTrace || !a.finished || a.err != nil {
			continue
		}
		if matches(a.pair.Src.Addr(), local.Addr()) && matches(a.pair.Dst.Addr(), remote.Addr()) &&
			a.pair.Dst.Port() == remote.Port() {
			return i
		}
	}
	return -1
}

// matches reports whether the address of a pair, want, is the connection's
// got: the same address, zone and IPv4 mapping aside, or any address when
// want is unspecified (or none), which leaves the choice to the kernel.
func matches(want, got netip.Addr) bool {
	return !want.IsValid() || want.IsUnspecified() || unzoned(want) == unzoned(got)
}

// addrPortOf converts a TCP or UDP address; the zero AddrPort for anything else.
func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

func unzoned(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }
