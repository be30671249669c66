package pairs

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/getapr/getapr/internal/nat64"
	"github.com/getapr/getapr/internal/svcb"
	"github.com/getapr/getapr/netstate"
)

// NAT64 in pairs: each link may have a NAT64 prefix (PREF64), from a Router
// Advertisement (in the netstate snapshot), from DNS (RFC 7050, on IPv6-only
// links) or from configuration. An IPv4 destination that has no IPv4 route
// through a link with a PREF64 is synthesized under that link's prefix (RFC
// 6052) and paired with that link's IPv6 sources only; AAAA answers inside a
// known prefix (a DNS64's) are turned back into the IPv4 address they stand
// for, so that one server is one destination.

// ConfiguredPREF64 is a NAT64 prefix given by configuration (WithPREF64, or
// the environment variable GETAPR_PREF64), for networks that announce theirs
// neither in Router Advertisements nor through DNS64.
type ConfiguredPREF64 struct {
	// Interface restricts the prefix to one link (by name); empty means every
	// link with IPv6 sources that has no prefix of its own.
	Interface string
	// Prefix is the NAT64 prefix, of length 32, 40, 48, 56, 64 or 96.
	Prefix netip.Prefix
}

// EnvPREF64 is the environment variable read for configured NAT64 prefixes: a
// comma-separated list of PREFIX or PREFIX%INTERFACE, such as
// "64:ff9b::/96" or "2001:db8:6464::/96%eth1".
const EnvPREF64 = "GETAPR_PREF64"

// ParsePREF64s parses the value of GETAPR_PREF64 (see EnvPREF64); the empty
// string is no prefix. Its error names the item at fault; the caller says
// where the list came from (the variable, a flag).
func ParsePREF64s(s string) ([]ConfiguredPREF64, error) {
	var out []ConfiguredPREF64
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		pfx, ifname, _ := strings.Cut(f, "%")
		p, err := netip.ParsePrefix(pfx)
		if err == nil {
			err = nat64.CheckPrefix(p)
		}
		if err != nil {
			return nil, fmt.Errorf("pairs: %q: %w", f, err)
		}
		out = append(out, ConfiguredPREF64{Interface: ifname, Prefix: p})
	}
	return out, nil
}

// nat64Facts is what NAT64 needs to know of a snapshot's links, worked out
// once per snapshot (a view holds it).
type nat64Facts struct {
	has6    []int  // links with a usable IPv6 source that is not link-local (GUA, ULA), sorted
	v6only  []int  // those of them without a usable IPv4 source (link-local aside)
	ra      []int  // the links with an RA prefix
	net     string // dns64Network
	native4 bool   // a usable IPv4 source (link-local aside) and an IPv4 default route
}

func newNAT64Facts(s *netstate.Snapshot) nat64Facts { return nat64FactsOf(s, s.Sources()) }

// hasDefaultRoute reports whether s has a unicast default route of the
// family (IPv6 when v6), in any table, with a gateway or not.
func hasDefaultRoute(s *netstate.Snapshot, v6 bool) bool {
	return slices.ContainsFunc(s.Routes, func(r netstate.Route) bool {
		return r.Type == netstate.Unicast && r.Dst.Bits() == 0 && r.Dst.Addr().Is6() == v6
	})
}

// nat64FactsOf works the facts out from s and its usable sources srcs. It
// allocates little unless the host has IPv6-only links.
func nat64FactsOf(s *netstate.Snapshot, srcs []netstate.Addr) nat64Facts {
	var f nat64Facts
	var has4 []int
	for _, a := range srcs {
		switch c := a.Class(); {
		case (c == netstate.GUA || c == netstate.ULA) && !slices.Contains(f.has6, a.Index):
			f.has6 = append(f.has6, a.Index)
		case c.Is4() && c != netstate.LinkLocal4 && !slices.Contains(has4, a.Index):
			has4 = append(has4, a.Index)
		}
	}
	slices.Sort(f.has6)
	f.native4 = len(has4) > 0 && hasDefaultRoute(s, false)
	for _, i := range f.has6 {
		if !slices.Contains(has4, i) {
			f.v6only = append(f.v6only, i)
		}
	}
	for _, p := range s.PREF64s {
		f.ra = append(f.ra, p.Index)
	}
	if len(f.v6only) == 0 {
		return f
	}
	var b strings.Builder
	for _, i := range f.v6only {
		var ps []string
		for _, a := range srcs {
			if c := a.Class(); a.Index == i && (c == netstate.GUA || c == netstate.ULA) {
				ps = append(ps, a.Prefix().String())
			}
		}
		slices.Sort(ps)
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('=')
		b.WriteString(strings.Join(slices.Compact(ps), ","))
		b.WriteByte(';')
	}
	f.net = b.String()
	return f
}

// withoutRA returns the IPv6-only links that lack a prefix from an RA.
func (f *nat64Facts) withoutRA() []int {
	var out []int
	for _, i := range f.v6only {
		if !slices.Contains(f.ra, i) {
			out = append(out, i)
		}
	}
	return out
}

// needsDNS reports whether an IPv6-only link lacks a prefix from the RA, which
// the RFC 7050 discovery could give.
func (f *nat64Facts) needsDNS() bool {
	for _, i := range f.v6only {
		if !slices.Contains(f.ra, i) {
			return true
		}
	}
	return false
}

// prefixes returns the prefix of every link of s that has one, sorted by
// link: a Router Advertisement's first; on an IPv6-only link without one, the
// first prefix DNS discovery found; on any link with IPv6 sources and neither,
// the configured prefix for that link (see configuredFor).
func (f *nat64Facts) prefixes(s *netstate.Snapshot, dns []netip.Prefix, cfg []ConfiguredPREF64) []netstate.PREF64 {
	if len(s.PREF64s) == 0 && len(dns) == 0 && len(cfg) == 0 {
		return nil
	}
	out := slices.Clone(s.PREF64s)
	has := func(i int) bool {
		return slices.ContainsFunc(out, func(p netstate.PREF64) bool { return p.Index == i })
	}
	if len(dns) > 0 {
		for _, i := range f.v6only {
			if !has(i) {
				out = append(out, netstate.PREF64{Index: i, Prefix: dns[0], Source: netstate.PREF64DNS})
			}
		}
	}
	for _, l := range s.Links {
		if !slices.Contains(f.has6, l.Index) || has(l.Index) {
			continue
		}
		if c, ok := configuredFor(cfg, l.Name); ok {
			out = append(out, netstate.PREF64{Index: l.Index, Prefix: c, Source: netstate.PREF64Config})
		}
	}
	slices.SortFunc(out, func(a, b netstate.PREF64) int { return a.Index - b.Index })
	return out
}

// configuredFor returns the configured prefix of the link named name: the
// first given for that link by name, else the first given for every link.
func configuredFor(cfg []ConfiguredPREF64, name string) (netip.Prefix, bool) {
	i := slices.IndexFunc(cfg, func(c ConfiguredPREF64) bool { return c.Interface == name })
	if i < 0 {
		i = slices.IndexFunc(cfg, func(c ConfiguredPREF64) bool { return c.Interface == "" })
	}
	if i < 0 {
		return netip.Prefix{}, false
	}
	return cfg[i].Prefix, true
}

// ipv6OnlyLinks returns, in order, the links with IPv6 sources and no IPv4
// source (link-local aside): where RFC 7050's DNS discovery applies.
func ipv6OnlyLinks(s *netstate.Snapshot) []int { return newNAT64Facts(s).v6only }

// dns64Network names the IPv6-only part of the host's network, for deciding
// when the RFC 7050 discovery must be made again: the IPv6-only links and the
// prefixes of their sources. The empty string means there is no IPv6-only
// link, and nothing to discover.
func dns64Network(s *netstate.Snapshot) string { return newNAT64Facts(s).net }

// needsDNS64 reports whether an IPv6-only link of s lacks a PREF64 from the RA.
func needsDNS64(s *netstate.Snapshot) bool {
	f := newNAT64Facts(s)
	return f.needsDNS()
}

// linkPREF64s returns the links' prefixes of s (see nat64Facts.prefixes).
func linkPREF64s(s *netstate.Snapshot, dns []netip.Prefix, cfg []ConfiguredPREF64) []netstate.PREF64 {
	f := newNAT64Facts(s)
	return f.prefixes(s, dns, cfg)
}

// desynthesize returns addrs with every IPv6 address inside one of the links'
// prefixes replaced by the IPv4 address it embeds (RFC 6052), without
// duplicates: the real IPv6 addresses in their order, then the IPv4 ones (the
// A answers, then those de-synthesized, in order). An address inside a prefix
// that embeds no translatable IPv4 address stays as it is.
func desynthesize(addrs []netip.Addr, prefs []netstate.PREF64) []netip.Addr {
	if len(prefs) == 0 {
		return addrs
	}
	var v6, v4, back []netip.Addr
	for _, a := range addrs {
		if a.Is4() {
			v4 = append(v4, a)
			continue
		}
		if d, ok := extractAny(a, prefs); ok {
			back = append(back, d)
			continue
		}
		v6 = append(v6, a)
	}
	return svcb.CompactAddrs(slices.Concat(v6, v4, back))
}

// extractAny returns the IPv4 address a embeds under the first of prefs that
// contains it.
func extractAny(a netip.Addr, prefs []netstate.PREF64) (netip.Addr, bool) {
	for _, p := range prefs {
		if d, ok := nat64.Extract(p.Prefix, a); ok {
			return d, true
		}
	}
	return netip.Addr{}, false
}
