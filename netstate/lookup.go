package netstate

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
)

// mainTable is the kernel's main routing table (RT_TABLE_MAIN).
const mainTable = 254

// tableOf returns the table a route or rule refers to, reading 0 as main.
func tableOf(t uint32) uint32 {
	if t == 0 {
		return mainTable
	}
	return t
}

// Lookup computes the route decision for a packet from src to dst from the
// snapshot's own Routes and Rules, the way the kernel would: policy rules in priority
// order (a family without rules uses the main table), longest-prefix match inside a
// table, lowest metric among equals (then the higher RFC 4191 router
// preference), "throw" routes and suppress_prefixlength
// continuing with the next rule. src may be invalid or unspecified, meaning "let the
// route choose"; otherwise it must be a usable configured address (Addr.Usable), or
// the result is a *RouteError of kind BadSource. A zone on dst (or on a link-local
// src) restricts the lookup to that interface. Reject routes and rules give a
// *RouteError of the matching kind, and no match gives NoRoute. The errors carry no
// errno.
//
// Lookup is what Static.RouteFor uses; it is a model of the kernel, not the kernel:
// Monitor.RouteFor asks the kernel itself. Where the kernel's answer depends on
// more than the tables (the next hop of a multipath route, the source the kernel
// picks by RFC 6724 when src is unset), Lookup takes the first candidate: for the
// source, the route's preferred source, else the first non-deprecated usable
// address of dst's scope on the egress interface.
func (s *Snapshot) Lookup(src, dst netip.Addr) (Decision, error) {
	src, dst = src.Unmap(), dst.Unmap()
	fail := func(k RouteErrorKind) (Decision, error) {
		return Decision{}, &RouteError{Src: src, Dst: dst, Kind: k}
	}
	if !dst.IsValid() || dst.IsUnspecified() {
		return fail(NoRoute)
	}
	oif, ok := s.zoneIndex(dst)
	if !ok {
		return fail(NoRoute)
	}
	if hasSrc(src) {
		a, ok := s.Addr(src)
		if !ok || !a.Usable() || src.Is6() != dst.Is6() {
			return fail(BadSource)
		}
		if oif == 0 && a.IP.IsLinkLocalUnicast() && dst.IsLinkLocalUnicast() {
			oif = a.Index
		}
	}
	if a, ok := s.Addr(dst); ok || dst.IsLoopback() {
		if !ok {
			a = Addr{IP: dst}
		}
		return s.localDecision(src, a), nil
	}
	for _, r := range s.rulesFor(dst.Is6()) {
		if (matches(r.Src, src) && matches(r.Dst, dst)) == r.Invert {
			continue
		}
		switch r.Action {
		case RuleUnreachable:
			return fail(UnreachableErr)
		case RuleProhibit:
			return fail(ProhibitedErr)
		case RuleBlackhole:
			return fail(BlackholeErr)
		case RuleOther:
			continue
		}
		rt, ok := s.bestRoute(tableOf(r.Table), src, dst, oif)
		if !ok || rt.Type == Throw || (r.Suppress && rt.Dst.Bits() <= r.SuppressPrefixLen) {
			continue
		}
		switch rt.Type {
		case Unicast:
			return s.decision(src, dst, rt), nil
		case Unreachable:
			return fail(UnreachableErr)
		case Prohibit:
			return fail(ProhibitedErr)
		case Blackhole:
			return fail(BlackholeErr)
		}
		return fail(NoRoute)
	}
	return fail(NoRoute)
}

// netipAddr converts a 4- or 16-byte IP slice, unmapping IPv4-mapped addresses.
func netipAddr(ip []byte) (netip.Addr, bool) {
	a, ok := netip.AddrFromSlice(ip)
	return a.Unmap(), ok
}

// hasSrc reports whether src names a source, rather than "any".
func hasSrc(src netip.Addr) bool { return src.IsValid() && !src.IsUnspecified() }

// matches reports whether the rule selector p (invalid = all) contains ip. An absent
// ip (no source chosen) only matches "all".
func matches(p netip.Prefix, ip netip.Addr) bool {
	if !p.IsValid() {
		return true
	}
	return hasSrc(ip) && p.Contains(ip.WithZone(""))
}

// rulesFor returns the family's rules by priority, or the implicit "lookup main".
func (s *Snapshot) rulesFor(is6 bool) []Rule {
	var out []Rule
	for _, r := range s.Rules {
		if r.Is6 == is6 {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return []Rule{{Is6: is6, Table: mainTable}}
	}
	slices.SortStableFunc(out, func(a, b Rule) int { return cmp.Compare(a.Priority, b.Priority) })
	return out
}

// bestRoute returns the route of table for src and dst: the longest prefix, then
// of those for src (Route.From: any when invalid; a source-specific route needs
// src) the most specific, then the lowest metric, then the highest router
// preference. A non-zero oif keeps only unicast routes through that interface
// (and reject routes, whose interface means nothing).
func (s *Snapshot) bestRoute(table uint32, src, dst netip.Addr, oif int) (Route, bool) {
	var best Route
	found := false
	ip := dst.WithZone("")
	for _, r := range s.Routes {
		if tableOf(r.Table) != table || r.Type == Local || r.Type == OtherRoute ||
			r.Dst.Addr().Is6() != ip.Is6() || !r.Dst.Contains(ip) || !matches(r.From, src) {
			continue
		}
		if oif != 0 && r.Type == Unicast && r.Index != oif {
			continue
		}
		if !found || cmp.Or(cmp.Compare(r.Dst.Bits(), best.Dst.Bits()), preferRoute(&r, &best)) > 0 {
			best, found = r, true
		}
	}
	return best, found
}

// preferRoute compares two routes to one prefix for a source both are for: positive
// when the kernel takes r over o (the more specific Route.From, then the lower
// metric, then the higher router preference), negative when o, 0 when neither.
func preferRoute(r, o *Route) int {
	return cmp.Or(
		cmp.Compare(r.From.Bits(), o.From.Bits()), // -1 for all sources
		cmp.Compare(o.Priority, r.Priority),
		cmp.Compare(r.Preference, o.Preference))
}

// decision turns a unicast route into a Decision, choosing a source if none is given.
func (s *Snapshot) decision(src, dst netip.Addr, r Route) Decision {
	d := Decision{Index: r.Index, Gateway: r.Gateway, Src: src}
	if l, ok := s.Link(r.Index); ok {
		d.Interface = l.Name
	}
	if d.Gateway.IsLinkLocalUnicast() && d.Gateway.Zone() == "" && d.Interface != "" {
		d.Gateway = d.Gateway.WithZone(d.Interface)
	}
	if !hasSrc(d.Src) {
		d.Src = r.Src
	}
	if !hasSrc(d.Src) {
		d.Src = s.preferredSource(r.Index, dst)
	}
	return d
}

// preferredSource picks a usable address of dst's family on interface index: the
// first of the same scope (link-local for a link-local dst) that is not deprecated.
func (s *Snapshot) preferredSource(index int, dst netip.Addr) netip.Addr {
	var fallback netip.Addr
	for _, a := range s.Addrs {
		if a.Index != index || !a.Usable() || a.IP.Is6() != dst.Is6() ||
			a.IP.IsLinkLocalUnicast() != dst.IsLinkLocalUnicast() {
			continue
		}
		if !a.Has(Deprecated) {
			return a.IP
		}
		if !fallback.IsValid() {
			fallback = a.IP
		}
	}
	return fallback
}

// localDecision is the decision for a destination that is one of our own
// addresses: it leaves through the loopback interface.
func (s *Snapshot) localDecision(src netip.Addr, dst Addr) Decision {
	d := Decision{Index: dst.Index, Interface: dst.Interface, Src: src}
	for _, l := range s.Links {
		if l.Loopback {
			d.Index, d.Interface = l.Index, l.Name
			break
		}
	}
	if !hasSrc(d.Src) {
		d.Src = dst.IP
	}
	return d
}

// zoneIndex returns the interface index dst's zone names (0 without a zone). ok is
// false when the zone names no known interface.
func (s *Snapshot) zoneIndex(ip netip.Addr) (index int, ok bool) {
	z := ip.Zone()
	if z == "" {
		return 0, true
	}
	for _, l := range s.Links {
		if l.Name == z {
			return l.Index, true
		}
	}
	if n, err := strconv.Atoi(z); err == nil {
		_, ok := s.Link(n)
		return n, ok
	}
	return 0, false
}
