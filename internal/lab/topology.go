package lab

import (
	"fmt"
	"net/netip"
)

// A cmd is one invocation of ip, fed its batch on stdin, or one nftables
// transaction sent over netlink.
type cmd struct {
	ns     string    // namespace name; "" is the root namespace
	nft    *nftBatch // if set, the nftables batch to send in ns, instead of ip -batch -
	family int       // ip only: 0 (from the addresses), 4 or 6 (-4/-6)
	force  bool      // ip only: go on past failing lines and ignore them (deletes of what may be gone)
	lines  []string
}

// A stage is a set of commands that may run concurrently; stages run in order.
type stage []cmd

// link is one veth pair: end A in namespace role NSA, end B in NSB.
type link struct {
	NSA, IfA string
	NSB, IfB string
}

// links returns the lab's veth pairs in the order their indexes are given.
func (p *plan) links() []link {
	a, b := &p.Uplinks[0], &p.Uplinks[1]
	return []link{
		{roleClient, a.ClientIf, a.Relay, ifRelayClient},
		{a.Relay, ifRelayISP, a.ISP, ifISPDown},
		{roleClient, b.ClientIf, b.Relay, ifRelayClient},
		{b.Relay, ifRelayISP, b.ISP, ifISPDown},
		{a.ISP, ifISPUp, roleCore, a.CoreIf},
		{b.ISP, ifISPUp, roleCore, b.CoreIf},
		{roleCore, ifCoreServer, roleServer, ifServer},
	}
}

// ifindex returns the interface index of the veth end (role, ifname); 0 if the
// lab has no such end.
func (p *plan) ifindex(role, ifname string) int {
	for k, l := range p.links() {
		if l.NSA == role && l.IfA == ifname {
			return p.IndexBase + 2*k + 1
		}
		if l.NSB == role && l.IfB == ifname {
			return p.IndexBase + 2*k + 2
		}
	}
	return 0
}

// netnsCmd adds (verb "add") or deletes ("del") the given namespaces.
func netnsCmd(verb string, force bool, names []string) cmd {
	c := cmd{force: force}
	for _, n := range names {
		c.lines = append(c.lines, "netns "+verb+" "+n)
	}
	return c
}

// linkCmd creates every veth pair, each end directly inside its namespace, from
// the root namespace: nothing ever exists there.
func (p *plan) linkCmd() cmd {
	var c cmd
	for _, l := range p.links() {
		c.lines = append(c.lines, fmt.Sprintf("link add %s index %d netns %s type veth peer name %s index %d netns %s",
			l.IfA, p.ifindex(l.NSA, l.IfA), p.ns(l.NSA), l.IfB, p.ifindex(l.NSB, l.IfB), p.ns(l.NSB)))
	}
	return c
}

// upLines brings lo and the role's veth ends up.
func (p *plan) upLines(role string) []string {
	lines := []string{"link set lo up"}
	for _, l := range p.links() {
		if l.NSA == role {
			lines = append(lines, "link set dev "+l.IfA+" up")
		}
		if l.NSB == role {
			lines = append(lines, "link set dev "+l.IfB+" up")
		}
	}
	return lines
}

// addrLine is "addr VERB P dev IF", with nodad for IPv6.
func addrLine(verb string, p netip.Prefix, dev string) string {
	s := fmt.Sprintf("addr %s %s dev %s", verb, p, dev)
	if p.Addr().Is6() && verb != "del" {
		s += " nodad"
	}
	return s
}

// ll is the /64 link-local prefix of a fixed link-local address.
func ll(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, 64) }

// clientAddrs returns the client's own addresses of one family (4 or 6) on
// uplink i, link-local excluded.
func (p *plan) clientAddrs(i, family int) []netip.Prefix {
	u := &p.Uplinks[i]
	if family == 4 {
		return []netip.Prefix{u.IPv4}
	}
	out := []netip.Prefix{u.GUA}
	if u.ULA.IsValid() {
		out = append(out, u.ULA)
	}
	return out
}

// clientRouteLines returns the default routes of one family on uplink i, in main
// (with the uplink's metric) and in the uplink's policy table.
func (p *plan) clientRouteLines(verb string, i, family int) []string {
	u := &p.Uplinks[i]
	gw := u.RouterLL
	if family == 4 {
		gw = u.Router4.Addr()
	}
	return []string{
		fmt.Sprintf("route %s default via %s dev %s metric %d", verb, gw, u.ClientIf, u.Metric),
		fmt.Sprintf("route %s default via %s dev %s table %d metric %d", verb, gw, u.ClientIf, u.Table, u.Metric),
	}
}

// policyRuleLines returns the client's source-routing rules of one family: main
// without its default routes first, then "from the ISP's space, use its table".
func (p *plan) policyRuleLines(verb string, family int) []string {
	lines := []string{fmt.Sprintf("rule %s lookup main suppress_prefixlength 0 pref %d", verb, suppressPref)}
	for i := range p.Uplinks {
		u := &p.Uplinks[i]
		ps := u.Prefixes6
		if family == 4 {
			ps = u.Prefixes4
		}
		for k, pfx := range ps {
			lines = append(lines, fmt.Sprintf("rule %s from %s lookup %d pref %d", verb, pfx, u.Table, policyPrefBase+10*i+k))
		}
	}
	return lines
}

// clientConfig returns the client's bring-up batches.
func (p *plan) clientConfig(s *controlState) []cmd {
	ns := p.ns(roleClient)
	lines := p.upLines(roleClient)
	for i := range p.Uplinks {
		u := &p.Uplinks[i]
		lines = append(lines, addrLine("add", ll(p.ClientLL), u.ClientIf))
		for _, fam := range []int{4, 6} {
			if !s.family(fam) {
				continue
			}
			for _, a := range p.clientAddrs(i, fam) {
				lines = append(lines, addrLine("add", a, u.ClientIf))
			}
			lines = append(lines, p.clientRouteLines("add", i, fam)...)
		}
		lines = append(lines,
			fmt.Sprintf("route add unreachable ::/0 table %d metric %d", u.Table, unreachMetric),
			fmt.Sprintf("route add unreachable 0.0.0.0/0 table %d metric %d", u.Table, unreachMetric))
	}
	cmds := []cmd{{ns: ns, lines: lines}}
	if s.Policy {
		cmds = append(cmds,
			cmd{ns: ns, family: 4, lines: p.policyRuleLines("add", 4)},
			cmd{ns: ns, family: 6, lines: p.policyRuleLines("add", 6)})
	}
	return cmds
}

// ispConfig returns ISP i's addresses and routes.
func (p *plan) ispConfig(i int) cmd {
	u := &p.Uplinks[i]
	lines := p.upLines(u.ISP)
	for _, a := range []netip.Prefix{ll(u.RouterLL), u.RouterGUA, u.RouterULA, u.Router4} {
		if a.IsValid() {
			lines = append(lines, addrLine("add", a, ifISPDown))
		}
	}
	for _, a := range []netip.Prefix{ll(u.UpLL), u.Up6, u.Up4} {
		lines = append(lines, addrLine("add", a, ifISPUp))
	}
	lines = append(lines,
		fmt.Sprintf("route add default via %s dev %s", u.Core6.Addr(), ifISPUp),
		fmt.Sprintf("route add default via %s dev %s", u.Core4.Addr(), ifISPUp))
	return cmd{ns: p.ns(u.ISP), lines: lines}
}

// coreConfig returns the core's addresses and its routes back to every ISP's
// outside space.
func (p *plan) coreConfig() cmd {
	s := &p.Server
	lines := p.upLines(roleCore)
	for i := range p.Uplinks {
		u := &p.Uplinks[i]
		for _, a := range []netip.Prefix{ll(s.CoreLL), u.Core6, u.Core4} {
			lines = append(lines, addrLine("add", a, u.CoreIf))
		}
		for _, r := range u.Routed6 {
			lines = append(lines, fmt.Sprintf("route add %s via %s dev %s", r, u.Up6.Addr(), u.CoreIf))
		}
		for _, r := range u.Routed4 {
			lines = append(lines, fmt.Sprintf("route add %s via %s dev %s", r, u.Up4.Addr(), u.CoreIf))
		}
	}
	for _, a := range []netip.Prefix{ll(s.CoreLL), s.Core6, s.Core4} {
		lines = append(lines, addrLine("add", a, ifCoreServer))
	}
	return cmd{ns: p.ns(roleCore), lines: lines}
}

// serverConfig returns the server's addresses and routes.
func (p *plan) serverConfig() cmd {
	s := &p.Server
	lines := p.upLines(roleServer)
	addrs := []netip.Prefix{ll(s.ServerLL), s.Host6, s.Host4}
	for _, a := range []netip.Addr{s.Open6, s.Refuse6, s.Drop6} {
		addrs = append(addrs, netip.PrefixFrom(a, s.Host6.Bits()))
	}
	for _, a := range []netip.Addr{s.Open4, s.Refuse4, s.Drop4} {
		addrs = append(addrs, netip.PrefixFrom(a, s.Host4.Bits()))
	}
	for _, a := range addrs {
		lines = append(lines, addrLine("add", a, ifServer))
	}
	lines = append(lines,
		fmt.Sprintf("route add default via %s dev %s", s.Core6.Addr(), ifServer),
		fmt.Sprintf("route add default via %s dev %s", s.Core4.Addr(), ifServer))
	return cmd{ns: p.ns(roleServer), lines: lines}
}

// configStage returns every namespace's bring-up configuration for the initial
// control state s; the commands are independent of each other.
func (p *plan) configStage(s *controlState) stage {
	st := stage(p.clientConfig(s))
	for _, r := range []string{roleRelayA, roleRelayB} {
		st = append(st, cmd{ns: p.ns(r), lines: p.upLines(r)})
	}
	for i := range p.Uplinks {
		st = append(st, p.ispConfig(i), cmd{ns: p.ns(p.Uplinks[i].ISP), nft: p.ispNFT(i, s, true)})
	}
	return append(st, p.coreConfig(), p.serverConfig(), cmd{ns: p.ns(roleServer), nft: p.serverNFT()})
}

// sysctls returns the /proc/sys settings of a role, applied before its
// interfaces exist so that new interfaces inherit the defaults: fixed link-local
// addresses only (addr_gen_mode 1), no DAD, no router advertisements, no reverse
// path filter; forwarding in routers; no IPv6 at all in the relays, which are
// wires.
func sysctls(role string) [][2]string {
	kv := [][2]string{
		{"net/ipv6/conf/all/accept_dad", "0"},
		{"net/ipv6/conf/default/accept_dad", "0"},
		{"net/ipv6/conf/default/dad_transmits", "0"},
		{"net/ipv6/conf/default/addr_gen_mode", "1"},
		{"net/ipv6/conf/default/accept_ra", "0"},
		{"net/ipv6/conf/default/router_solicitations", "0"},
		{"net/ipv4/conf/all/rp_filter", "0"},
		{"net/ipv4/conf/default/rp_filter", "0"},
	}
	switch role {
	case roleISPA, roleISPB, roleCore:
		kv = append(kv, [2]string{"net/ipv4/ip_forward", "1"}, [2]string{"net/ipv6/conf/all/forwarding", "1"})
	case roleClient:
		// Router Advertisements are taken even with forwarding on; the lab's
		// routers send them only when a test asks (AdvertisePREF64).
		kv = append(kv, [2]string{"net/ipv6/conf/default/accept_ra", "2"})
	case roleRelayA, roleRelayB:
		kv = append(kv, [2]string{"net/ipv6/conf/all/disable_ipv6", "1"}, [2]string{"net/ipv6/conf/default/disable_ipv6", "1"})
	}
	return kv
}
