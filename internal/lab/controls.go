package lab

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// controlState is the state of every control. The default (defaultState) is
// the lab as brought up.
type controlState struct {
	RTT       [2]time.Duration // round-trip time per uplink; 0 is no delay
	Blackhole [2]bool
	Cut       [2]bool
	Ingress   [2]bool // BCP 38 at the ISP
	Policy    bool    // source-based policy routing on the client
	V4, V6    bool    // the client's address families
	NAT44     bool
	NPTv6     bool
	Middlebox [2]MiddleboxMode  // the TCP-terminating middlebox at the ISP
	Extra     [2][]netip.Prefix // client addresses added with AddClientAddr
	Moved     [2]bool           // the uplink's link is on the other network (Move)
	NAT64     bool              // the NAT64 uplink is IPv6-only behind tayga
	DNS64     bool              // the lab DNS synthesizes AAAA records
	PREF64    [2]netip.Prefix   // the PREF64 last advertised with a lifetime, per uplink
}

// defaultState is the lab as brought up: rtt as given, ingress filtering at both
// ISPs, policy routing, both families, NAT44 and NPTv6.
func defaultState(rtt [2]time.Duration) controlState {
	return controlState{
		RTT:     rtt,
		Ingress: [2]bool{true, true},
		Policy:  true,
		V4:      true, V6: true,
		NAT44: true, NPTv6: true,
	}
}

// family reports whether the client has addresses of family 4 or 6.
func (s *controlState) family(f int) bool {
	if f == 4 {
		return s.V4
	}
	return s.V6
}

// defaultRTTs resolves Options.RTT: zero means the default, negative no delay.
func defaultRTTs(rtt [2]time.Duration) [2]time.Duration {
	def := [2]time.Duration{defaultRTTA, defaultRTTB}
	for i, r := range rtt {
		switch {
		case r == 0:
		case r < 0:
			def[i] = 0
		default:
			def[i] = r
		}
	}
	return def
}

// policyStages turns the client's policy rules off, then on again if on. The
// deletes are forced: the rules may not be there.
func (p *plan) policyStages(on bool) []stage {
	ns := p.ns(roleClient)
	st := []stage{{
		{ns: ns, family: 4, force: true, lines: p.policyRuleLines("del", 4)},
		{ns: ns, family: 6, force: true, lines: p.policyRuleLines("del", 6)},
	}}
	if on {
		st = append(st, stage{
			{ns: ns, family: 4, lines: p.policyRuleLines("add", 4)},
			{ns: ns, family: 6, lines: p.policyRuleLines("add", 6)},
		})
	}
	return st
}

// familyStages gives the client exactly the families v4 and v6: the addresses
// and default routes of a family that is off are removed (extra addresses of
// that family too), those of a family that is on are put back.
func (p *plan) familyStages(s *controlState, v4, v6 bool) []stage {
	ns := p.ns(roleClient)
	del := cmd{ns: ns, force: true}
	add := cmd{ns: ns}
	for i := range p.Uplinks {
		dev := p.Uplinks[i].ClientIf
		for _, fam := range []int{4, 6} {
			on := (fam == 4 && v4) || (fam == 6 && v6)
			if fam == 4 && s.NAT64 && i == p.NAT64.Uplink {
				on = false // the NAT64 uplink stays IPv6-only
			}
			if !on {
				del.lines = append(del.lines, p.clientRouteLines("del", i, fam)...)
				for _, a := range append(p.clientAddrs(i, fam), familyOf(s.Extra[i], fam)...) {
					del.lines = append(del.lines, addrLine("del", a, dev))
				}
				continue
			}
			for _, a := range p.clientAddrs(i, fam) {
				add.lines = append(add.lines, addrLine("replace", a, dev))
			}
			add.lines = append(add.lines, p.clientRouteLines("replace", i, fam)...)
		}
	}
	return []stage{{del}, {add}}
}

// familyOf returns the prefixes of family 4 or 6.
func familyOf(ps []netip.Prefix, fam int) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if p.Addr().Is4() == (fam == 4) {
			out = append(out, p)
		}
	}
	return out
}

// withoutFamily returns ps without the prefixes of family fam.
func withoutFamily(ps []netip.Prefix, fam int) []netip.Prefix {
	return slices.DeleteFunc(slices.Clone(ps), func(p netip.Prefix) bool { return p.Addr().Is4() == (fam == 4) })
}

// cutStage sets the far end of the client's link on uplink i down (carrier
// loss) or up.
func (p *plan) cutStage(i int, on bool) stage {
	state := "up"
	if on {
		state = "down"
	}
	return stage{{ns: p.ns(p.Uplinks[i].Relay), lines: []string{"link set dev " + ifRelayClient + " " + state}}}
}

// healStage forgets the neighbours that failed while uplink i was cut, on both
// sides; otherwise the kernel skips a FAILED IPv6 router for a minute.
func (p *plan) healStage(i int) stage {
	u := &p.Uplinks[i]
	return stage{
		{ns: p.ns(roleClient), force: true, lines: []string{"neigh flush dev " + u.ClientIf}},
		{ns: p.ns(u.ISP), force: true, lines: []string{"neigh flush dev " + ifISPDown}},
	}
}

// ispStage sets ISP i's firewall rules to state s, in one atomic batch.
func (p *plan) ispStage(i int, s *controlState) stage {
	return stage{{ns: p.ns(p.Uplinks[i].ISP), nft: p.ispNFT(i, s, false)}}
}

// addrStage adds or removes one client address on uplink i.
func (p *plan) addrStage(i int, verb string, a netip.Prefix) stage {
	return stage{{ns: p.ns(roleClient), lines: []string{addrLine(verb, a, p.Uplinks[i].ClientIf)}}}
}

// checkUplink validates an uplink index.
func checkUplink(i int) error {
	if i != 0 && i != 1 {
		return fmt.Errorf("lab: uplink %d: want 0 or 1", i)
	}
	return nil
}
