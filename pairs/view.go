package pairs

import (
	"context"
	"errors"
	"net/netip"
	"strconv"
	"sync"

	"github.com/getapr/getapr/netstate"
)

// view is what the Selector derives from one snapshot: the candidate sources with
// their RFC 6724 attributes, and the kernel's route decisions asked so far. A new
// snapshot generation gets a new view, which is how the route cache is reset.
type view struct {
	snap *netstate.Snapshot
	srcs []source // usable sources, in snapshot order
	lo   int      // index of the loopback interface, 0 if unknown

	mu     sync.Mutex
	routes map[routeKey]routeVerdict
}

type routeKey struct{ src, dst netip.Addr }

// routeVerdict is a cached RouteFor answer: the interface the pair leaves by, or
// why the kernel would not send it.
type routeVerdict struct {
	index int
	err   error // a *netstate.RouteError, or nil
}

func newView(snap *netstate.Snapshot, t PolicyTable) *view {
	v := &view{snap: snap, routes: make(map[routeKey]routeVerdict)}
	for _, a := range snap.Sources() {
		v.srcs = append(v.srcs, newSource(a, t))
	}
	for _, l := range snap.Links {
		if l.Loopback {
			v.lo = l.Index
			break
		}
	}
	return v
}

// route asks the kernel (through w) how packets from src, a source on interface
// index, to dst would leave. unroutable is the *netstate.RouteError when they would
// not; mismatch is set when they would leave by another interface (but loopback, the
// way to the host's own addresses). Answers are
// cached for the view's lifetime. Other errors (a canceled context) keep the pair
// and are not cached.
func (v *view) route(ctx context.Context, w netstate.Watcher, src netip.Addr, index int, dst netip.Addr) (mismatch bool, unroutable error) {
	k := routeKey{src, dst}
	v.mu.Lock()
	r, hit := v.routes[k]
	v.mu.Unlock()
	if !hit {
		d, err := w.RouteFor(ctx, src, dst)
		if _, ok := errors.AsType[*netstate.RouteError](err); err != nil && !ok {
			return false, nil
		}
		r = routeVerdict{index: d.Index, err: err}
		v.mu.Lock()
		v.routes[k] = r
		v.mu.Unlock()
	}
	if r.err != nil {
		return false, r.err
	}
	return r.index != 0 && r.index != index && r.index != v.lo, nil
}

// zoneIndex returns the interface index a zone names: an interface name or a
// decimal index. ok is false when no link of the snapshot matches.
func (v *view) zoneIndex(zone string) (int, bool) {
	for _, l := range v.snap.Links {
		if l.Name == zone {
			return l.Index, true
		}
	}
	if n, err := strconv.Atoi(zone); err == nil {
		if _, ok := v.snap.Link(n); ok {
			return n, true
		}
	}
	return 0, false
}
