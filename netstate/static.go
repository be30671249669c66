package netstate

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Static is a Watcher whose snapshot is set by hand: the fake that tests of other
// packages use instead of a Monitor. RouteFor answers from the snapshot (see
// Snapshot.Lookup) unless SetRouteFunc replaced it. It starts no goroutines. All
// methods are safe for concurrent use.
type Static struct {
	snap    atomic.Pointer[Snapshot]
	route   atomic.Pointer[routeFunc]
	publish sync.Mutex // serializes Set, so subscribers see generations in order
	subs    subscribers
}

type routeFunc func(src, dst netip.Addr) (Decision, error)

var _ Watcher = (*Static)(nil)

// NewStatic returns a Static whose current snapshot is a copy of snap, Generation
// included; a nil snap means an empty host (no links, no addresses, no routes).
// Static keeps the slices of snap: the caller must not modify them afterwards.
func NewStatic(snap *Snapshot) *Static {
	s := new(Static)
	c := new(Snapshot)
	if snap != nil {
		*c = *snap
	}
	s.snap.Store(c)
	return s
}

// Snapshot returns the current snapshot. It never returns nil.
func (s *Static) Snapshot() *Snapshot { return s.snap.Load() }

// Set makes a copy of snap, with Generation one more than the current snapshot's,
// the current snapshot and calls every subscriber with it before returning. A nil
// snap publishes an empty host. Subscribers must not call Set themselves. Static
// keeps the slices of snap: the caller must not modify them afterwards.
func (s *Static) Set(snap *Snapshot) {
	c := new(Snapshot)
	if snap != nil {
		*c = *snap
	}
	s.publish.Lock()
	defer s.publish.Unlock()
	c.Generation = s.snap.Load().Generation + 1
	s.snap.Store(c)
	s.subs.publish(c)
}

// Subscribe calls fn with each snapshot passed to Set from then on, on the
// goroutine that calls Set, until unsubscribe is called.
func (s *Static) Subscribe(fn func(*Snapshot)) (unsubscribe func()) {
	return s.subs.add(fn)
}

// SetRouteFunc makes RouteFor return fn(src, dst). A nil fn restores the default,
// Snapshot().Lookup(src, dst).
func (s *Static) SetRouteFunc(fn func(src, dst netip.Addr) (Decision, error)) {
	if fn == nil {
		s.route.Store(nil)
		return
	}
	f := routeFunc(fn)
	s.route.Store(&f)
}

// RouteFor returns the route decision for a packet from src to dst: the route func
// if one is set, otherwise Snapshot().Lookup(src, dst). It returns ctx's error if
// ctx is done.
func (s *Static) RouteFor(ctx context.Context, src, dst netip.Addr) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	if f := s.route.Load(); f != nil {
		return (*f)(src, dst)
	}
	return s.Snapshot().Lookup(src, dst)
}

// Close drops all subscribers. Set still replaces the snapshot afterwards, but
// nobody is called. Close always returns nil.
func (s *Static) Close() error {
	s.subs.clear()
	return nil
}
