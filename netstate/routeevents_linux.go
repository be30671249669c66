package netstate

import (
	"cmp"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Route events applied to the current snapshot.
//
// A router's kernel (FRR, bird) holds a full table, 100,000 routes and more,
// and changes some of them every second. Dumping the host again for each
// change costs hundreds of milliseconds and the whole table's garbage, so when
// the events since the last rebuild are all route changes the rebuild applies
// them to the current snapshot's routes instead, as the kernel did.
//
// Each route message names the object it creates, replaces or deletes; the
// last message about an object is its state. The events a rebuild applies are
// those received after the previous rebuild started (a dump shows all that
// came before), so applying them in order to its result ends, for every
// object, in the state of its last event, even when the dump already showed
// some of them. What that model cannot tell makes the rebuild dump the host:
// an event lost (ENOBUFS) or not received (events stopped), any event but a
// route's or a nexthop object's, a change of a default route (gateways and routers follow from
// them), an IPv4 route with a TOS (not kept in a Route), two kernel routes
// with the same identity (ip route append or prepend: which one a replace
// replaces is the kernel's secret), and a route of a nexthop object the last
// dump did not show, when the event shows its id alone (nexthop_compat_mode
// 0). The nexthop objects of the last dump are kept current by their events,
// which are applied when no route the snapshot may hold uses the object (see
// nexthopindex_linux.go); an event of one in use makes the rebuild dump the
// host.

// maxRouteEvents bounds the route events kept for one rebuild; past it the
// rebuild dumps the host, which is then cheaper anyway.
const maxRouteEvents = 4096

// routeEvents are the route and nexthop object change events received since
// the last rebuild started. The event reader adds to it; the rebuild takes
// them.
type routeEvents struct {
	mu   sync.Mutex
	msgs []netlink.Message // RTM_NEWROUTE, RTM_DELROUTE, RTM_NEWNEXTHOP and RTM_DELNEXTHOP, in arrival order
	full bool              // another change, or events lost: dump the host
	live bool              // the event reader is running
}

// add keeps a route event, or gives up on keeping them past maxRouteEvents.
// It keeps a copy of m's bytes: they are a slice of the buffer of the read
// that returned m, a page or more for an event of a hundred bytes, which
// would otherwise stay alive until the rebuild takes the events.
func (q *routeEvents) add(m netlink.Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.full {
		return
	}
	if len(q.msgs) >= maxRouteEvents {
		q.msgs, q.full = nil, true
		return
	}
	m.Data = slices.Clone(m.Data)
	q.msgs = append(q.msgs, m)
}

// other records a change that only a dump shows.
func (q *routeEvents) other() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs, q.full = nil, true
}

// setLive records whether the event reader runs; without it, every rebuild
// dumps the host (as when polling).
func (q *routeEvents) setLive(live bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.live = live
	if !live {
		q.msgs, q.full = nil, true
	}
}

// take returns the events kept and forgets them. full reports that they are
// not the whole change: the host must be dumped.
func (q *routeEvents) take() (msgs []netlink.Message, full bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	msgs, full = q.msgs, q.full || !q.live
	q.msgs, q.full = nil, false
	return msgs, full
}

// aliasKey identifies a kernel route the way a replace finds the route it
// replaces: IPv4 by table, destination, TOS (here always 0) and metric; IPv6
// by table, destination, source prefix and metric.
type aliasKey struct {
	span spanKey
	from netip.Prefix
}

// spanKey is the part of an aliasKey by which Snapshot.Routes are sorted
// first (compareRoutes): the routes of one span are adjacent.
type spanKey struct {
	table    uint32
	dst      netip.Prefix
	priority uint32
}

func compareSpans(a, b spanKey) int {
	return cmp.Or(
		cmp.Compare(a.table, b.table),
		a.dst.Addr().Compare(b.dst.Addr()),
		cmp.Compare(a.dst.Bits(), b.dst.Bits()),
		cmp.Compare(a.priority, b.priority),
	)
}

func spanOf(r Route) spanKey { return spanKey{r.Table, r.Dst, r.Priority} }

// aliasOf returns the key of route message m (from is its source prefix) if
// it is one a Snapshot keeps routes of: a table of tables, not a cached clone,
// IPv4 or IPv6 with a valid destination. Its type is not checked: a route of
// a type a Snapshot leaves out can still be replaced by one it keeps.
func aliasOf(m *rtnetlink.RouteMessage, from netip.Prefix, tables map[uint32]bool) (aliasKey, bool) {
	table := uint32(m.Table)
	if m.Attributes.Table != 0 {
		table = m.Attributes.Table
	}
	if !tables[table] || m.Flags&unix.RTM_F_CLONED != 0 || (m.Family != unix.AF_INET && m.Family != unix.AF_INET6) {
		return aliasKey{}, false
	}
	dst, ok := routeDst(m.Attributes.Dst, m.DstLength, m.Family == unix.AF_INET6)
	if !ok {
		return aliasKey{}, false
	}
	k := aliasKey{span: spanKey{table, dst, m.Attributes.Priority}}
	if m.Family == unix.AF_INET6 {
		k.from = from
	}
	return k, true
}

// sharedAliases finds, in a dump's route messages, added in the dump's
// order, the keys of more than one kernel route: appended or prepended
// routes, and IPv4 routes with a TOS, which share the key of those without.
// The kernel dumps the routes of one key one after the other.
type sharedAliases struct {
	keys map[aliasKey]bool // nil on most hosts
	last aliasKey
	seen bool
}

// add takes the dump's next route message, m, whose source prefix is from; a
// route a Snapshot does not keep (see aliasOf: tables are those it keeps)
// counts for nothing, and add reports false for it.
func (a *sharedAliases) add(m *rtnetlink.RouteMessage, from netip.Prefix, tables map[uint32]bool) bool {
	k, ok := aliasOf(m, from, tables)
	if !ok {
		return false
	}
	if (a.seen && k == a.last) || m.Tos != 0 {
		if a.keys == nil {
			a.keys = make(map[aliasKey]bool)
		}
		a.keys[k] = true
	}
	a.last, a.seen = k, true
	return true
}

// routeChanges are the spans of routes that events changed: for each, its
// routes after them, unsorted.
type routeChanges struct {
	cur    *Snapshot
	tables map[uint32]bool
	index  routeIndex // of the last dump
	spans  map[spanKey][]Route
}

func newRouteChanges(cur *Snapshot, index routeIndex) *routeChanges {
	return &routeChanges{cur: cur, tables: cur.lookupTables(), index: index, spans: map[spanKey][]Route{}}
}

// apply applies one route event. It reports false when the event is one the
// model cannot apply (see above): the host must be dumped.
func (c *routeChanges) apply(m netlink.Message) bool {
	if m.Header.Type == unix.RTM_NEWNEXTHOP || m.Header.Type == unix.RTM_DELNEXTHOP {
		return c.index.nexthops != nil && c.index.nexthops.apply(m)
	}
	var r rtnetlink.RouteMessage
	if r.UnmarshalBinary(m.Data) != nil {
		return false
	}
	from := routeFrom(m.Data)
	k, ok := aliasOf(&r, from, c.tables)
	if !ok {
		return true // a route a Snapshot does not keep
	}
	if k.span.dst.Bits() == 0 || r.Tos != 0 || c.index.shared[k] {
		return false
	}
	hops, known := c.index.nexthops.of(m.Data, &r)
	if !known {
		return false
	}
	c.index.nexthops.use(m.Data)
	routes := c.cur.appendRoutes(nil, r, from, hops, c.tables)
	if m.Header.Type == unix.RTM_NEWROUTE && (len(routes) == 0 || m.Header.Flags&netlink.Append != 0) {
		// A route of a type a Snapshot leaves out (local, anycast...) may
		// now share its key with one it keeps, and an appended route shares
		// its key with the routes there: which one a later replace replaces
		// only a dump tells (see sharedAliases).
		return false
	}
	span := c.span(k.span)
	same := func(x Route) bool { return x.From == k.from }
	switch {
	case m.Header.Type == unix.RTM_DELROUTE:
		for _, x := range routes {
			if i := slices.IndexFunc(span, func(y Route) bool { return sameRoute(x, y) }); i >= 0 {
				span = slices.Delete(span, i, i+1)
			}
		}
	case m.Header.Flags&netlink.Replace != 0:
		span = append(slices.DeleteFunc(span, same), routes...)
	default:
		// A new route of a key already taken is a second kernel route
		// (appended), unless it repeats or extends the one there (an IPv6
		// next hop added to a multipath route comes with all of them).
		for _, x := range span {
			if same(x) && !slices.ContainsFunc(routes, func(y Route) bool { return sameRoute(x, y) }) {
				return false
			}
		}
		span = append(slices.DeleteFunc(span, same), routes...)
	}
	c.spans[k.span] = span
	return true
}

// sameRoute reports whether x and y are the same route, perhaps of another
// router preference (which an RA changes in place).
func sameRoute(x, y Route) bool {
	x.Preference = y.Preference
	return x == y
}

// span returns the routes of span k as changed so far: at first, a copy of
// the current snapshot's.
func (c *routeChanges) span(k spanKey) []Route {
	if s, ok := c.spans[k]; ok {
		return s
	}
	lo, hi := spanRange(c.cur.Routes, k)
	return slices.Clone(c.cur.Routes[lo:hi])
}

// spanRange returns the indexes of span k's routes in sorted routes: where
// they would be when there are none.
func spanRange(routes []Route, k spanKey) (lo, hi int) {
	lo, _ = slices.BinarySearchFunc(routes, k, func(r Route, k spanKey) int { return compareSpans(spanOf(r), k) })
	hi = lo
	for hi < len(routes) && spanOf(routes[hi]) == k {
		hi++
	}
	return lo, hi
}

// routes returns the current snapshot's routes with the changes applied:
// the same slice when nothing changed, else one new slice.
func (c *routeChanges) routes() []Route {
	base := c.cur.Routes
	keys := make([]spanKey, 0, len(c.spans))
	n := len(base)
	for k, s := range c.spans {
		slices.SortFunc(s, compareRoutes)
		lo, hi := spanRange(base, k)
		if !slices.Equal(s, base[lo:hi]) {
			keys = append(keys, k)
			n += len(s) - (hi - lo)
		}
	}
	if len(keys) == 0 {
		return base
	}
	slices.SortFunc(keys, compareSpans)
	out := make([]Route, 0, n)
	next := 0
	for _, k := range keys {
		lo, hi := spanRange(base, k)
		out = append(append(out, base[next:lo]...), c.spans[k]...)
		next = hi
	}
	return append(out, base[next:]...)
}

// applyRoutes returns cur with the route events msgs applied, taken at now;
// ok is false when they cannot be applied and the host must be dumped. The
// result shares all but its routes, addresses and PREF64s with cur; the
// addresses' lifetimes are those left at now.
func (b *linuxBackend) applyRoutes(cur *Snapshot, msgs []netlink.Message, now time.Time) (*Snapshot, bool) {
	c := newRouteChanges(cur, b.index)
	for _, m := range msgs {
		if !c.apply(m) {
			return nil, false
		}
	}
	s := *cur
	s.Generation, s.Taken = 0, now
	s.Routes = c.routes()
	s.Addrs = aged(cur.Addrs, now.Sub(cur.Taken))
	s.PREF64s = b.ra.current(&s, now)
	return &s, true
}

// aged returns addrs with their lifetimes shortened by d, as a new reading
// after d would show them.
func aged(addrs []Addr, d time.Duration) []Addr {
	out := slices.Clone(addrs)
	for i := range out {
		out[i].PreferredLifetime = age(out[i].PreferredLifetime, d)
		out[i].ValidLifetime = age(out[i].ValidLifetime, d)
	}
	return out
}

func age(l, d time.Duration) time.Duration {
	if l == Forever {
		return l
	}
	return max(l-d, 0)
}
