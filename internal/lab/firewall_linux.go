package lab

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// The lab's firewall rules, one function per router. Each rule is written
// twice: in nft syntax (the string, shown in errors and checked against nft's
// own compilation in the tests) and as the expressions sent over netlink.

// serverNFT drops everything addressed to Drop6 and Drop4:
//
//	table inet gapr {
//	  chain input {
//	    type filter hook input priority filter; policy accept;
//	    ip6 daddr DROP6 drop
//	    ip daddr DROP4 drop
//	  }
//	}
func (p *plan) serverNFT() *nftBatch {
	s := &p.Server
	input := baseChain(table(nftables.TableFamilyINet, "gapr"), "input",
		nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter)
	var b nftBatch
	b.declare(input)
	b.add(input, fmt.Sprintf("ip6 daddr %s drop", s.Drop6),
		b.addr(input.Table, daddr, expr.CmpOpEq, netip.PrefixFrom(s.Drop6, 128)), drop())
	b.add(input, fmt.Sprintf("ip daddr %s drop", s.Drop4),
		b.addr(input.Table, daddr, expr.CmpOpEq, netip.PrefixFrom(s.Drop4, 32)), drop())
	return &b
}

// ispChains are an ISP router's tables and chains (the same in both ISPs):
//
//	table inet gapr {
//	  chain blackhole { }   # the blackhole control's rules
//	  chain ingress { }     # BCP 38's rules
//	  chain forward {
//	    type filter hook forward priority filter; policy accept;
//	    jump blackhole
//	    jump ingress
//	  }
//	}
//	table ip gapr4 {
//	  chain postrouting { type nat hook postrouting priority srcnat; policy accept; }  # NAT44
//	  chain prerouting { type nat hook prerouting priority dstnat; policy accept; }    # middlebox
//	}
//	table ip6 gapr6 {       # NPTv6 and the middlebox
//	  chain postrouting { type nat hook postrouting priority srcnat; policy accept; }
//	  chain prerouting { type nat hook prerouting priority dstnat; policy accept; }
//	}
type ispChains struct {
	blackhole, ingress, forward *nftables.Chain
	post4, pre4, post6, pre6    *nftables.Chain
}

func newISPChains() ispChains {
	inet := table(nftables.TableFamilyINet, "gapr")
	ip4 := table(nftables.TableFamilyIPv4, "gapr4")
	ip6 := table(nftables.TableFamilyIPv6, "gapr6")
	return ispChains{
		blackhole: chain(inet, "blackhole"),
		ingress:   chain(inet, "ingress"),
		forward:   baseChain(inet, "forward", nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter),
		post4:     baseChain(ip4, "postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource),
		pre4:      baseChain(ip4, "prerouting", nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest),
		post6:     baseChain(ip6, "postrouting", nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource),
		pre6:      baseChain(ip6, "prerouting", nftables.ChainTypeNAT, nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest),
	}
}

// ispTables declares an ISP router's tables and chains (ispChains), with the
// forward chain's two jumps.
func ispTables(b *nftBatch, c ispChains) {
	b.declare(c.blackhole, c.ingress, c.forward, c.post4, c.pre4, c.post6, c.pre6)
	b.add(c.forward, "jump blackhole", jump(c.blackhole))
	b.add(c.forward, "jump ingress", jump(c.ingress))
}

// ispRules sets ISP i's rule chains to the control state s: blackhole, BCP 38
// ingress filtering, NAT44, the masquerade behind the NAT64 and NPTv6 (the
// last three only where the uplink has them), and the middlebox. Every rule
// chain is flushed first, in the same batch, so a change is idempotent and
// atomic.
func (p *plan) ispRules(b *nftBatch, c ispChains, i int, s *controlState) {
	u := &p.Uplinks[i]
	b.flushChains(c.blackhole, c.ingress, c.post4, c.pre4, c.post6, c.pre6)
	middleboxRules(b, c, s.Middlebox[i])
	if s.Blackhole[i] {
		b.add(c.blackhole, fmt.Sprintf(`iifname "%s" drop`, ifISPDown),
			ifname(expr.MetaKeyIIFNAME, ifISPDown), drop())
		b.add(c.blackhole, fmt.Sprintf(`oifname "%s" drop`, ifISPDown),
			ifname(expr.MetaKeyOIFNAME, ifISPDown), drop())
	}
	if s.Ingress[i] {
		b.add(c.ingress, fmt.Sprintf(`iifname "%s" ip6 saddr != { %s } drop`, ifISPDown, joinPrefixes(u.Prefixes6)),
			ifname(expr.MetaKeyIIFNAME, ifISPDown), b.addr(c.ingress.Table, saddr, expr.CmpOpNeq, u.Prefixes6...), drop())
		b.add(c.ingress, fmt.Sprintf(`iifname "%s" ip saddr != { %s } drop`, ifISPDown, joinPrefixes(u.Prefixes4)),
			ifname(expr.MetaKeyIIFNAME, ifISPDown), b.addr(c.ingress.Table, saddr, expr.CmpOpNeq, u.Prefixes4...), drop())
	}
	if s.NAT44 && u.IPv4.Addr().IsPrivate() {
		b.add(c.post4, fmt.Sprintf(`oifname "%s" ip saddr %s masquerade`, ifISPUp, u.IPv4.Masked()),
			ifname(expr.MetaKeyOIFNAME, ifISPUp), b.addr(c.post4.Table, saddr, expr.CmpOpEq, u.IPv4.Masked()), masquerade())
	}
	if n := &p.NAT64; s.NAT64 && i == n.Uplink {
		b.add(c.post4, fmt.Sprintf(`oifname "%s" ip saddr %s masquerade`, ifISPUp, n.Pool),
			ifname(expr.MetaKeyOIFNAME, ifISPUp), b.addr(c.post4.Table, saddr, expr.CmpOpEq, n.Pool), masquerade())
	}
	if s.NPTv6 && u.ULA.IsValid() {
		b.add(c.post6, fmt.Sprintf(`oifname "%s" ip6 saddr %s snat ip6 prefix to %s`, ifISPUp, u.ULA.Masked(), u.ULAOutside),
			ifname(expr.MetaKeyOIFNAME, ifISPUp), b.addr(c.post6.Table, saddr, expr.CmpOpEq, u.ULA.Masked()),
			natPrefix(expr.NATTypeSourceNAT, u.ULAOutside))
		b.add(c.pre6, fmt.Sprintf(`iifname "%s" ip6 daddr %s dnat ip6 prefix to %s`, ifISPUp, u.ULAOutside, u.ULA.Masked()),
			ifname(expr.MetaKeyIIFNAME, ifISPUp), b.addr(c.pre6.Table, daddr, expr.CmpOpEq, u.ULAOutside),
			natPrefix(expr.NATTypeDestNAT, u.ULA.Masked()))
	}
}

// middleboxRules turn the TCP-terminating middlebox on, in mode m: the TLS
// port of every destination, from the client's link, is redirected to the
// middlebox process listening on the router itself:
//
//	iifname "lan" tcp dport 443 redirect to :PORT   # in ip gapr4 and ip6 gapr6 prerouting
//
// PORT is middleboxSilentPort or middleboxResetPort, the listener of mode m.
// The redirect comes before routing, so the ISP's forward chain (blackhole,
// BCP 38) does not see these connections, as it does not on a real
// intercepting proxy.
func middleboxRules(b *nftBatch, c ispChains, m MiddleboxMode) {
	port, ok := middleboxPorts[m]
	if !ok {
		return
	}
	for _, ch := range []*nftables.Chain{c.pre4, c.pre6} {
		b.add(ch, fmt.Sprintf(`iifname "%s" tcp dport %d redirect to :%d`, ifISPDown, tlsPort, port),
			ifname(expr.MetaKeyIIFNAME, ifISPDown), tcpDport(tlsPort), redirectTo(port))
	}
}

// ispNFT returns ISP i's batch for control state s; with declare (bring-up) it
// declares the tables and chains first.
func (p *plan) ispNFT(i int, s *controlState, declare bool) *nftBatch {
	var b nftBatch
	c := newISPChains()
	if declare {
		ispTables(&b, c)
	}
	p.ispRules(&b, c, i, s)
	return &b
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}
