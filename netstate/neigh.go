package netstate

import (
	"net/netip"
	"slices"
)

// NeighState is the kernel's neighbour-cache state of a default router, reduced to
// what a route decision depends on.
type NeighState uint8

// The router states. Linux skips an IPv6 default route whose router is
// NeighFailed until it probes the router again (router_probe_interval, 60 s), and a
// packet sent to the router itself makes it redo neighbour discovery at once.
const (
	NeighNone       NeighState = iota // no entry: never resolved, flushed, or expired
	NeighIncomplete                   // resolution under way (INCOMPLETE)
	NeighReachable                    // confirmed recently (REACHABLE, PERMANENT, NOARP)
	NeighStale                        // known, not confirmed lately (STALE, DELAY, PROBE)
	NeighFailed                       // resolution failed (FAILED)
)

var neighStateNames = [...]string{"none", "incomplete", "reachable", "stale", "failed"}

// String returns the state's name, such as "failed".
func (s NeighState) String() string {
	if int(s) < len(neighStateNames) {
		return neighStateNames[s]
	}
	return "neigh(?)"
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (s NeighState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Usable reports whether the kernel sends through a router in state s without
// first having to find it again: every state but NeighFailed and NeighIncomplete.
func (s NeighState) Usable() bool { return s != NeighFailed && s != NeighIncomplete }

// Neighbor is the neighbour-cache entry of a default router. A Snapshot holds one
// for each router of a default route (in any table it reads) that has an entry:
// the other neighbours of the host are not watched.
type Neighbor struct {
	Index int        // the interface
	IP    netip.Addr // the router; an IPv6 link-local address carries its zone
	// HWAddr is the router's link-layer address in the usual text form
	// ("02:00:00:00:0a:01"); empty when not resolved.
	HWAddr string
	State  NeighState
}

// routerKey names a default router: its interface and its address without zone.
type routerKey struct {
	index int
	ip    netip.Addr
}

// routers returns the default routers of the snapshot's routes: the gateway and
// interface of every unicast default route, sorted, without duplicates.
func (s *Snapshot) routers() []routerKey {
	var out []routerKey
	for _, r := range s.Routes {
		if r.Type == Unicast && r.Dst.Bits() == 0 && r.Gateway.IsValid() && r.Index != 0 {
			out = append(out, routerKey{r.Index, r.Gateway.WithZone("")})
		}
	}
	slices.SortFunc(out, compareRouterKeys)
	return slices.Compact(out)
}

func compareRouterKeys(a, b routerKey) int {
	if a.index != b.index {
		return a.index - b.index
	}
	return a.ip.Compare(b.ip)
}

// Router returns the default router of family is6 on link index: the gateway of
// the lowest-metric unicast default route through that link (of equal metrics,
// the higher router preference), in any table the snapshot reads, whatever
// sources the route is for (Route.From). The gateway of an IPv4 route may be
// IPv6 (RFC 8950: "via inet6"). ok is false when the link has none. For the
// router of a source address, see RouterOf.
func (s *Snapshot) Router(index int, is6 bool) (gw netip.Addr, ok bool) {
	var best *Route
	for i := range s.Routes {
		r := &s.Routes[i]
		if r.Type != Unicast || r.Dst.Bits() != 0 || r.Index != index || !r.Gateway.IsValid() ||
			r.Dst.Addr().Is6() != is6 {
			continue
		}
		if best == nil || r.Priority < best.Priority ||
			r.Priority == best.Priority && r.Preference > best.Preference {
			best = r
		}
	}
	if best == nil {
		return netip.Addr{}, false
	}
	return best.Gateway, true
}

// RouterOf returns the default router of the source address a: the gateway of
// the default route that a packet from a leaving by a's link takes (as a
// connect from a bound to its interface does), found as Lookup finds routes:
// the rules in order (those that apply to a destination only default routes
// cover), and in each table looked up the unicast default routes through a's
// link for a (Route.From invalid, or containing a.IP), the most specific From
// first, then the lowest metric, then the higher router preference. Two
// upstream routers on one link, each with a default route for its own
// prefix's sources (source-specific routing, RFC 8678) or in a table of its
// own ("ip rule add from A lookup T"), are each the router of their own
// sources. ok is false when the walk ends on no such route, or on a reject
// route or rule, or on a default route without a gateway.
func (s *Snapshot) RouterOf(a Addr) (gw netip.Addr, ok bool) {
	r, ok := s.defaultRouteOf(a)
	return r.Gateway, ok
}

// defaultRouteOf returns the default route of RouterOf.
func (s *Snapshot) defaultRouteOf(a Addr) (Route, bool) {
	src := a.IP.Unmap()
	for _, rule := range s.rulesFor(src.Is6()) {
		anyDst := !rule.Dst.IsValid() || rule.Dst.Bits() == 0
		if (matches(rule.Src, src) && anyDst) == rule.Invert {
			continue
		}
		switch rule.Action {
		case RuleOther:
			continue
		case RuleLookup:
		default:
			return Route{}, false // unreachable, prohibit, blackhole
		}
		var best *Route
		for i := range s.Routes {
			r := &s.Routes[i]
			if tableOf(r.Table) != tableOf(rule.Table) || r.Dst.Bits() != 0 || r.Dst.Addr().Is6() != src.Is6() ||
				r.Type == Local || r.Type == OtherRoute || r.Type == Unicast && r.Index != a.Index ||
				!matches(r.From, src) {
				continue
			}
			if best == nil || preferRoute(r, best) > 0 {
				best = r
			}
		}
		if best == nil || best.Type == Throw || rule.Suppress && rule.SuppressPrefixLen >= 0 {
			continue
		}
		return *best, best.Type == Unicast && best.Gateway.IsValid()
	}
	return Route{}, false
}

// Neighbor returns the neighbour entry of the router ip on link index (a zone on ip
// is ignored); ok is false when the snapshot has none.
func (s *Snapshot) Neighbor(index int, ip netip.Addr) (Neighbor, bool) {
	bare := ip.WithZone("")
	for _, n := range s.Neighbors {
		if n.Index == index && n.IP.WithZone("") == bare {
			return n, true
		}
	}
	return Neighbor{}, false
}

// RouterState returns the neighbour state of link index's default router of family
// is6 (see Router); NeighNone when the link has no router or the router no entry.
func (s *Snapshot) RouterState(index int, is6 bool) NeighState {
	gw, ok := s.Router(index, is6)
	return s.neighState(index, gw, ok)
}

// RouterStateOf returns the neighbour state of the source address a's default
// router (see RouterOf); NeighNone when there is none or the router has no
// entry.
func (s *Snapshot) RouterStateOf(a Addr) NeighState {
	gw, ok := s.RouterOf(a)
	return s.neighState(a.Index, gw, ok)
}

// neighState returns the state of router gw's entry on link index, when ok.
func (s *Snapshot) neighState(index int, gw netip.Addr, ok bool) NeighState {
	if !ok {
		return NeighNone
	}
	n, _ := s.Neighbor(index, gw)
	return n.State
}
