package netstate

import (
	"cmp"
	"net"
	"net/netip"
	"slices"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ruleOf converts a rule message as it applies to a plain socket's traffic
// (firewall mark 0, TOS 0, input interface lo); ok is false for rules that
// never match it and for families other than IPv4 and IPv6. A rule whose
// selectors need more than the addresses (output interface, uid range, ports,
// protocol, tunnel id, l3mdev) becomes a RuleOther rule: a Snapshot cannot
// evaluate it (RouteFor asks the kernel, which does), but one added, changed
// or removed is a change of the host. A firewall-mark, TOS or input-interface
// selector that such traffic fails makes a plain rule never match, and an
// inverted one ("not fwmark M", as wg-quick installs to send all unmarked
// traffic through its tunnel) match everything.
func ruleOf(m rtnetlink.RuleMessage) (Rule, bool) {
	if m.Family != unix.AF_INET && m.Family != unix.AF_INET6 {
		return Rule{}, false
	}
	r := Rule{Is6: m.Family == unix.AF_INET6, Table: uint32(m.Table), Action: ruleAction(m.Action),
		Invert: m.Flags&unix.FIB_RULE_INVERT != 0}
	fails := m.TOS != 0 // a plain socket's TOS is 0
	opaque := false
	if a := m.Attributes; a != nil {
		opaque = !plainRule(a)
		if a.IIFName != nil && *a.IIFName != "lo" { // local traffic comes in by lo
			fails = true
		}
		if a.FwMark != nil { // the kernel: (mark ^ 0) & mask != 0 fails
			mask := uint32(0xffffffff)
			if a.FwMask != nil {
				mask = *a.FwMask
			}
			fails = fails || *a.FwMark&mask != 0
		}
		var ok bool
		if r.Src, ok = rulePrefix(a.Src, m.SrcLength, r.Is6); !ok {
			return Rule{}, false
		}
		if r.Dst, ok = rulePrefix(a.Dst, m.DstLength, r.Is6); !ok {
			return Rule{}, false
		}
		if a.Priority != nil {
			r.Priority = *a.Priority
		}
		if a.Table != nil {
			r.Table = *a.Table
		}
		if p := a.SuppressPrefixLen; p != nil && int32(*p) >= 0 {
			r.Suppress, r.SuppressPrefixLen = true, int(*p)
		}
	}
	switch {
	case fails && !r.Invert:
		return Rule{}, false // never matches
	case fails: // inverted: matches every packet
		r.Src, r.Dst, r.Invert = netip.Prefix{}, netip.Prefix{}, false
	case opaque: // "not uidrange 0-999" matches the other users: kept, inverted
		r.Action = RuleOther
	case r.Invert && !r.Src.IsValid() && !r.Dst.IsValid():
		return Rule{}, false // "not from all": never matches
	}
	return r, true
}

// plainRule reports whether the rule's selectors, but for the firewall mark and
// the input interface, can match a plain socket's locally generated traffic
// without knowing more than its addresses.
func plainRule(a *rtnetlink.RuleAttributes) bool {
	return a.OIFName == nil &&
		a.UIDRange == nil && a.SPortRange == nil &&
		a.DPortRange == nil && (a.IPProto == nil || *a.IPProto == 0) &&
		(a.L3MDev == nil || *a.L3MDev == 0) && (a.TunID == nil || *a.TunID == 0)
}

// rulePrefix converts a rule selector; a nil ip means "all".
func rulePrefix(ip *net.IP, bits uint8, is6 bool) (netip.Prefix, bool) {
	if ip == nil {
		return netip.Prefix{}, bits == 0
	}
	a, ok := netipAddr(*ip)
	if !ok || a.Is6() != is6 {
		return netip.Prefix{}, false
	}
	p, err := a.Prefix(int(bits))
	return p, err == nil
}

func ruleAction(a uint8) RuleAction {
	switch a {
	case unix.FR_ACT_TO_TBL:
		return RuleLookup
	case unix.FR_ACT_UNREACHABLE:
		return RuleUnreachable
	case unix.FR_ACT_PROHIBIT:
		return RuleProhibit
	case unix.FR_ACT_BLACKHOLE:
		return RuleBlackhole
	}
	return RuleOther
}

// lookupTables returns the tables a Snapshot keeps routes of: main, and every
// table a lookup rule selects, except the local table.
func (s *Snapshot) lookupTables() map[uint32]bool {
	t := map[uint32]bool{mainTable: true}
	for _, r := range s.Rules {
		if r.Action == RuleLookup && tableOf(r.Table) != localTable {
			t[tableOf(r.Table)] = true
		}
	}
	return t
}

func routeType(t uint8) RouteType {
	switch t {
	case unix.RTN_UNICAST:
		return Unicast
	case unix.RTN_LOCAL:
		return Local
	case unix.RTN_UNREACHABLE:
		return Unreachable
	case unix.RTN_PROHIBIT:
		return Prohibit
	case unix.RTN_BLACKHOLE:
		return Blackhole
	case unix.RTN_THROW:
		return Throw
	}
	return OtherRoute
}

// routeFrom returns the source prefix of an IPv6 route message's data (rtm_src_len
// and RTA_SRC, which rtnetlink does not decode); invalid when it has none.
func routeFrom(data []byte) netip.Prefix {
	const rtmsgLen = 12 // struct rtmsg
	if len(data) < rtmsgLen || data[0] != unix.AF_INET6 || data[2] == 0 {
		return netip.Prefix{}
	}
	ad, err := netlink.NewAttributeDecoder(data[rtmsgLen:])
	if err != nil {
		return netip.Prefix{}
	}
	for ad.Next() {
		if ad.Type() != unix.RTA_SRC {
			continue
		}
		if a, ok := netip.AddrFromSlice(ad.Bytes()); ok && a.Is6() && !a.Is4In6() {
			if p, err := a.Prefix(int(data[2])); err == nil {
				return p
			}
		}
	}
	return netip.Prefix{}
}

// appendRoutes appends the routes of message m, for the sources in from (all
// when invalid), to out, one per next hop, if m is a unicast or reject route of
// one of tables and not a cached clone. hops, when not nil, are the next hops
// of m's nexthop object, which m does not show (see nexthops.of).
func (s *Snapshot) appendRoutes(out []Route, m rtnetlink.RouteMessage, from netip.Prefix, hops []routeHop, tables map[uint32]bool) []Route {
	a := m.Attributes
	table := uint32(m.Table)
	if a.Table != 0 {
		table = a.Table
	}
	typ := routeType(m.Type)
	if !tables[table] || typ == Local || typ == OtherRoute || m.Flags&unix.RTM_F_CLONED != 0 ||
		(m.Family != unix.AF_INET && m.Family != unix.AF_INET6) {
		return out
	}
	is6 := m.Family == unix.AF_INET6
	dst, ok := routeDst(a.Dst, m.DstLength, is6)
	if !ok {
		return out
	}
	r := Route{Dst: dst, Table: table, Priority: a.Priority, Type: typ, Index: int(a.OutIface), Preference: routerPref(a.Pref)}
	if is6 {
		r.From = from
	}
	if src, ok := netipAddr(a.Src); ok && src.Is6() == is6 {
		r.Src = src
	}
	if hops != nil {
		for _, h := range hops {
			r.Index = h.index
			r.Gateway = s.zoned(h.gateway, r.Index)
			out = append(out, r)
		}
		return out
	}
	if len(a.Multipath) == 0 {
		r.Gateway = s.gateway(a.Gateway, a.Via, r.Index)
		return append(out, r)
	}
	for _, nh := range a.Multipath {
		r.Index = int(nh.Hop.IfIndex)
		r.Gateway = s.gateway(nh.Gateway, nh.Via, r.Index)
		out = append(out, r)
	}
	return out
}

// routerPref converts RTA_PREF (ICMPV6_ROUTER_PREF_*) to Route.Preference.
func routerPref(p *uint8) int8 {
	switch {
	case p == nil:
		return 0
	case *p == 1: // high
		return 1
	case *p == 3: // low
		return -1
	}
	return 0 // medium, or invalid (read as medium, RFC 4191 section 2.2)
}

// routeDst converts a route's destination; a nil ip is the default route.
func routeDst(ip []byte, bits uint8, is6 bool) (netip.Prefix, bool) {
	if ip == nil {
		if is6 {
			return netip.PrefixFrom(netip.IPv6Unspecified(), 0), bits == 0
		}
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0), bits == 0
	}
	a, ok := netipAddr(ip)
	if !ok || a.Is6() != is6 {
		return netip.Prefix{}, false
	}
	p, err := a.Prefix(int(bits))
	return p, err == nil
}

// gateway converts a next hop (RTA_GATEWAY, or RTA_VIA for another family) on
// interface index; a link-local gateway gets the interface as its zone.
func (s *Snapshot) gateway(gw []byte, via *rtnetlink.RouteVia, index int) netip.Addr {
	if gw == nil && via != nil {
		gw = via.Addr
	}
	ip, ok := netipAddr(gw)
	if !ok {
		return netip.Addr{}
	}
	return s.zoned(ip, index)
}

// zoned returns gateway ip on interface index: a link-local one with the
// interface as its zone.
func (s *Snapshot) zoned(ip netip.Addr, index int) netip.Addr {
	if ip.Is6() && ip.IsLinkLocalUnicast() {
		ip = ip.WithZone(s.zoneFor(index))
	}
	return ip
}

// compareRoutes orders routes by table, family, destination, metric (their
// span: see compareSpans), then type, interface and the rest.
func compareRoutes(a, b Route) int {
	return cmp.Or(
		compareSpans(spanOf(a), spanOf(b)),
		cmp.Compare(a.Type, b.Type),
		cmp.Compare(a.Index, b.Index),
		a.Gateway.Compare(b.Gateway),
		a.Src.Compare(b.Src),
		a.From.Addr().Compare(b.From.Addr()),
		cmp.Compare(a.From.Bits(), b.From.Bits()),
	)
}

// defaultGateway returns the gateway of the preferred default route of the
// family: for all sources (else source-specific: see Route.From), from the main
// table if it has one (else from the policy tables), on a running link, then
// lowest metric, then highest router preference. A gateway of the other family
// (an IPv4 route via an IPv6 next hop) is not the family's.
func (s *Snapshot) defaultGateway(is6 bool) netip.Addr {
	var (
		best  Route
		bestK [5]int64
		found bool
	)
	for _, r := range s.Routes {
		if r.Type != Unicast || r.Dst.Bits() != 0 || r.Dst.Addr().Is6() != is6 || !r.Gateway.IsValid() ||
			r.Gateway.Is6() != is6 {
			continue
		}
		k := [5]int64{int64(r.From.Bits()), 1, 1, int64(r.Priority), -int64(r.Preference)}
		if tableOf(r.Table) == mainTable {
			k[1] = 0
		}
		if l, ok := s.Link(r.Index); ok && l.Up && l.Running {
			k[2] = 0
		}
		if !found || slices.Compare(k[:], bestK[:]) < 0 {
			best, bestK, found = r, k, true
		}
	}
	return best.Gateway
}
