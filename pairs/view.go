package pairs

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"
	"weak"

	"github.com/getapr/getapr/netstate"
)

// view is what the Selector derives from one snapshot: the candidate sources with
// their RFC 6724 attributes, and the kernel's route decisions asked so far (its own
// choices of source included). A new snapshot generation gets a new view, which
// starts with the previous view's verdicts that the change cannot have touched
// (see newViewAfter).
type view struct {
	snap *netstate.Snapshot
	srcs []source // usable sources, in snapshot order
	lo   int      // index of the loopback interface, 0 if unknown
	// default4 and default6 say whether the snapshot has a unicast default
	// route of each family, with a gateway or not (see Stream's preferred
	// family).
	default4, default6 bool

	nat64  nat64Facts
	routes routeCache
	// self is a weak pointer to the view: what a remembered racing order
	// keeps of the view it was made in (see orderBasis), so that orders do
	// not keep old views and their route caches alive.
	self weak.Pointer[view]
}

// The route cache's bounds.
const (
	// routeCacheSize bounds the verdicts a view remembers. Each takes a map slot
	// of 104 bytes at a load of one half to seven eighths: 16 MiB at most with
	// the *RouteErrors of the negative ones (measured: 15 MiB steady, 1M
	// destinations through Get add 14.6 MiB; unbounded, they added 447 MiB).
	routeCacheSize = 1 << 16
	// negativeTTL is how long a negative verdict (the kernel would not send the
	// pair) is believed: a route may come back without a new snapshot generation.
	negativeTTL = time.Second
	// positiveTTL is how long any other verdict is believed, however long its
	// view lasts and whatever route changes it is carried over (see
	// newViewAfter): what the kernel's decisions depend on and a snapshot
	// does not show (a rule by user or by protocol, a nexthop object, a
	// route added and removed between two readings) cannot keep a wrong
	// answer longer. Asking again costs one RTM_GETROUTE a pair.
	positiveTTL = 30 * time.Second
)

type routeKey struct{ src, dst netip.Addr }

// routeVerdict is a cached RouteFor answer: the interface the pair leaves by and
// the source the kernel uses (its own choice when none was given), or why the
// kernel would not send it.
type routeVerdict struct {
	index int
	src   netip.Addr
	err   error         // a *netstate.RouteError, or nil
	until time.Duration // believed until the cache's age is this (see ttl)
}

// ttl returns how long r is believed once asked.
func (r routeVerdict) ttl() time.Duration {
	if r.err != nil {
		return negativeTTL
	}
	return positiveTTL
}

// routeCache holds the route verdicts of one view, at most routeCacheSize: two
// generations of at most half of it each. Verdicts go into the current one; when
// it is full it becomes the old one and the old one is dropped whole (O(1)); a
// verdict found in the old generation moves to the current one, so that those in
// use stay. A lookup or an insertion holds the lock for one or two map operations.
type routeCache struct {
	born time.Time // the cache's creation: ages are measured from it (monotonic)

	mu       sync.Mutex
	cur, old map[routeKey]routeVerdict
}

func newRouteCache() routeCache {
	return routeCache{born: time.Now(), cur: make(map[routeKey]routeVerdict)}
}

// get returns the verdict for k, if it is cached and not expired at the
// cache's age age.
func (c *routeCache) get(k routeKey, age time.Duration) (routeVerdict, bool) {
	c.mu.Lock()
	r, ok := c.cur[k]
	if !ok {
		if r, ok = c.old[k]; ok {
			delete(c.old, k)
			c.putLocked(k, r)
		}
	}
	c.mu.Unlock()
	if ok && age >= r.until {
		return routeVerdict{}, false
	}
	return r, ok
}

// put caches r for k, asked at the cache's age age, and returns it as cached:
// it expires after its ttl.
func (c *routeCache) put(k routeKey, r routeVerdict, age time.Duration) routeVerdict {
	r.until = age + r.ttl()
	c.mu.Lock()
	c.putLocked(k, r)
	c.mu.Unlock()
	return r
}

func (c *routeCache) putLocked(k routeKey, r routeVerdict) {
	if _, ok := c.cur[k]; !ok && len(c.cur) >= routeCacheSize/2 {
		c.old, c.cur = c.cur, make(map[routeKey]routeVerdict)
	}
	c.cur[k] = r
}

// carryFrom copies into c the verdicts of old, a cache of the previous snapshot,
// that the change to c's snapshot cannot have touched: those whose destination
// no prefix in changed covers. They keep their expiry. c is new and not yet
// shared.
func (c *routeCache) carryFrom(old *routeCache, changed []netip.Prefix) {
	shift := c.born.Sub(old.born) // c's age at old's age a is a - shift
	old.mu.Lock()
	defer old.mu.Unlock()
	for _, m := range [2]map[routeKey]routeVerdict{old.old, old.cur} {
		for k, r := range m {
			if r.until -= shift; r.until <= 0 || covers(changed, k.dst) {
				continue
			}
			c.putLocked(k, r)
		}
	}
}

// covers reports whether a prefix in ps contains a (its zone aside).
func covers(ps []netip.Prefix, a netip.Addr) bool {
	a = a.WithZone("")
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// len returns the number of cached verdicts, expired ones included.
func (c *routeCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}

// maxCarriedChanges is the number of changed routes from which a new view does
// not carry the previous view's route verdicts over (see routesChanged): a
// change that large is rare, and checking every verdict against it costs.
const maxCarriedChanges = 16

// newViewAfter returns the view of snap, which follows prev's snapshot. When
// the kernel's route decisions can only have changed for the destinations of
// a few routes (a BGP update, a route added or removed by hand: the links, the
// addresses and the rules as they were), the verdicts prev cached for other
// destinations are carried over, so that a router whose routing table moves
// every second does not ask the kernel again for every pair after each move.
func newViewAfter(prev *view, snap *netstate.Snapshot, t PolicyTable) *view {
	v := newView(snap, t)
	if prev == nil || !sameForRoutes(prev.snap, snap) {
		return v
	}
	if changed, ok := routesChanged(prev.snap.Routes, snap.Routes, maxCarriedChanges); ok {
		v.routes.carryFrom(&prev.routes, changed)
	}
	return v
}

// sameForRoutes reports whether a and b agree on everything besides their
// routes that the kernel's route decisions depend on: the links and their
// states, the addresses (their lifetimes aside: their flags count) and the
// policy rules. Neighbour states and NAT64 prefixes do not take part in them.
func sameForRoutes(a, b *netstate.Snapshot) bool {
	return slices.Equal(a.Links, b.Links) && slices.Equal(a.Rules, b.Rules) &&
		slices.EqualFunc(a.Addrs, b.Addrs, func(x, y netstate.Addr) bool {
			x.PreferredLifetime, x.ValidLifetime = 0, 0
			y.PreferredLifetime, y.ValidLifetime = 0, 0
			return x == y
		})
}

// routesChanged returns the destination prefixes of the routes in which a and
// b, two readings of the routing tables, differ. A Snapshot keeps its routes
// sorted, so what lies between the two readings' common start and their common
// end is what changed. ok is false when that is more than most routes on
// either side.
func routesChanged(a, b []netstate.Route, most int) (changed []netip.Prefix, ok bool) {
	start := 0
	for start < len(a) && start < len(b) && a[start] == b[start] {
		start++
	}
	a, b = a[start:], b[start:]
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] == b[len(b)-1] {
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	if len(a) > most || len(b) > most {
		return nil, false
	}
	for _, r := range slices.Concat(a, b) {
		changed = append(changed, r.Dst)
	}
	return changed, true
}

func newView(snap *netstate.Snapshot, t PolicyTable) *view {
	srcs := snap.Sources()
	v := &view{snap: snap, routes: newRouteCache(), nat64: nat64FactsOf(snap, srcs),
		default4: hasDefaultRoute(snap, false), default6: hasDefaultRoute(snap, true)}
	v.self = weak.Make(v)
	for _, a := range srcs {
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
// way to the host's own addresses). Answers are cached in the view (see
// routeCache), a negative one for a second. Other errors (a canceled context) keep
// the pair and are not cached.
func (v *view) route(ctx context.Context, w netstate.Watcher, src netip.Addr, index int, dst netip.Addr, deps *routeDeps) (mismatch bool, unroutable error) {
	r, ok := v.decide(ctx, w, src, dst, deps)
	deps.note(v, r, ok)
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
func (v *view) kernelChoice(ctx context.Context, w netstate.Watcher, dst netip.Addr, deps *routeDeps) netip.Addr {
	r, ok := v.decide(ctx, w, netip.Addr{}, dst, deps)
	deps.note(v, r, ok)
	if !ok || r.err != nil {
		return netip.Addr{}
	}
	return r.src
}

// decide returns the kernel's decision for a packet from src (invalid: any) to
// dst, from the cache or from w. ok is false when w failed otherwise than with a
// *netstate.RouteError (a canceled context): such answers are not cached.
func (v *view) decide(ctx context.Context, w netstate.Watcher, src, dst netip.Addr, deps *routeDeps) (r routeVerdict, ok bool) {
	k := routeKey{src, dst}
	age := deps.age(v)
	if r, hit := v.routes.get(k, age); hit {
		return r, true
	}
	d, err := w.RouteFor(ctx, src, dst)
	if _, isRoute := errors.AsType[*netstate.RouteError](err); err != nil && !isRoute {
		return routeVerdict{}, false
	}
	r = v.routes.put(k, routeVerdict{index: d.Index, src: d.Src, err: err}, age)
	return r, true
}

// routeDeps is what candidates formed with a view's route verdicts owe to them:
// a verdict is believed for its ttl only, and a decision that could not be made
// holds for nothing. It also holds the moment the candidates' verdicts are
// read at (one clock reading for all). The zero value owes nothing; a nil
// *routeDeps records nothing.
type routeDeps struct {
	until     time.Time // when the earliest verdict used expires; zero: none used
	uncertain bool      // a decision could not be made
	now       time.Time // when the first verdict was read; zero before
}

// age returns the age of v's route cache as the verdicts are read: at the
// first one's reading (the time of a ranking's reads is spent in asking the
// kernel, which puts verdicts in the cache at an age that errs low).
func (d *routeDeps) age(v *view) time.Duration {
	if d == nil {
		return time.Since(v.routes.born)
	}
	if d.now.IsZero() {
		d.now = time.Now()
	}
	return d.now.Sub(v.routes.born)
}

// note records one answer of v.decide.
func (d *routeDeps) note(v *view, r routeVerdict, ok bool) {
	switch {
	case d == nil:
	case !ok:
		d.uncertain = true
	default:
		if t := v.routes.born.Add(r.until); d.until.IsZero() || t.Before(d.until) {
			d.until = t
		}
	}
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
