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
// their RFC 6724 attributes, and the kernel's route decisions asked so far (its own
// choices of source included). A new snapshot generation gets a new view, which is
// how the route cache is reset.
type view struct {
	snap *netstate.Snapshot
	srcs []source // usable sources, in snapshot order
	lo   int      // index of the loopback interface, 0 if unknown

	mu     sync.Mutex
	routes map[routeKey]routeVerdict
}

type routeKey struct{ src, dst netip.Addr }

// routeVerdict is a cached RouteFor answer: the interface the pair leaves by and
// the source the kernel uses (its own choice when none was given), or why the
// kernel would not send it.
type routeVerdict struct {
	index int
	src   netip.Addr
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
// way to the host's own addresses). Answers are cached for the view's lifetime.
// Other errors (a canceled context) keep the pair and are not cached.
func (v *view) route(ctx context.Context, w netstate.Watcher, src netip.Addr, index int, dst netip.Addr) (mismatch bool, unroutable error) {
	r, ok := v.decide(ctx, w, src, dst)
	if !ok {
		return false, nil
	}
	if r.err != nil {
		return false, r.err
	}
	return r.index != 0 && r.index != index && r.index != v.lo, nil
}

// kernelChoice returns the source the kernel itself would use to reach dst (asking
// w with no source), or the invalid Addr when it would not send to dst or could not
// be asked. Answers are cached like route's.
func (v *view) kernelChoice(ctx context.Context, w netstate.Watcher, dst netip.Addr) netip.Addr {
	r, ok := v.decide(ctx, w, netip.Addr{}, dst)
	if !ok || r.err != nil {
		return netip.Addr{}
	}
	return r.src
}

// decide returns the kernel's decision for a packet from src (invalid: any) to
// dst, from the cache or from w. ok is false when w failed otherwise than with a
// *netstate.RouteError (a canceled context): such answers are not cached.
func (v *view) decide(ctx context.Context, w netstate.Watcher, src, dst netip.Addr) (r routeVerdict, ok bool) {
	k := routeKey{src, dst}
	v.mu.Lock()
	r, hit := v.routes[k]
	v.mu.Unlock()
	if hit {
		return r, true
	}
	d, err := w.RouteFor(ctx, src, dst)
	if _, isRoute := errors.AsType[*netstate.RouteError](err); err != nil && !isRoute {
		return routeVerdict{}, false
	}
	r = routeVerdict{index: d.Index, src: d.Src, err: err}
	v.mu.Lock()
	v.routes[k] = r
	v.mu.Unlock()
	return r, true
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
