package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// The controls of living through change: a heal that keeps the neighbour caches,
// and a move to another network and back.
const (
	opCutKeep = "cutkeep"
	opMove    = "move"
)

// CutKeepNeighbors is Cut, except that healing leaves the neighbour caches as they
// are: the client's entry for the router, FAILED during the cut, stays FAILED, and
// Linux skips the IPv6 default route through it until something makes it solicit
// the router again (its own router probe comes after router_probe_interval, 60 s).
func (l *Lab) CutKeepNeighbors(uplink int, on bool) error {
	return l.do(request{Op: opCutKeep, Uplink: uplink, On: on})
}

// Move moves the client's link on the uplink to another network (away) or back
// home. The other network has another router: another link-layer address,
// link-local address (Away's Router6), IPv6 prefix and IPv4 address (Router4);
// the client gets an address in the new IPv6 prefix instead of its GUA, no ULA,
// keeps its IPv4 address (the other network reuses the range, as home networks
// do) and its default routes go through the new router. Moving back restores the
// home network as it was. Both families must be on.
func (l *Lab) Move(uplink int, away bool) error {
	return l.do(request{Op: opMove, Uplink: uplink, On: away})
}

// Away returns the uplink as the client sees it on the other network that Move
// puts it on: its GUA in the other prefix, no ULA, the other router.
func (l *Lab) Away(uplink int) Uplink {
	u := l.Uplink(uplink)
	u.GUA = awayPrefix(netip.PrefixFrom(u.GUA, 64)).Addr()
	u.ULA, u.ULAOutside = netip.Addr{}, netip.Addr{}
	u.Router6 = awayLL(u.Router6.WithZone("")).WithZone(u.Interface)
	u.Router4 = u.Router4.Next()
	return u
}

// awayPrefix returns p (an address with its /64) moved to the next /64.
func awayPrefix(p netip.Prefix) netip.Prefix {
	b := p.Addr().As16()
	b[7]++
	return netip.PrefixFrom(netip.AddrFrom16(b), p.Bits())
}

// awayLL returns the other network's router link-local address for home's:
// fe80::a becomes fe80::10a.
func awayLL(home netip.Addr) netip.Addr {
	b := home.As16()
	b[14]++
	return netip.AddrFrom16(b)
}

// awayMAC is the link-layer address of the other network's router on uplink i.
func awayMAC(i int) string { return fmt.Sprintf("02:00:00:0a:%02x:02", i) }

// moveLines returns the ip batches that take uplink i's link from the network
// from to the network to (home or away): the router's side first, then the
// client's. mac is the router's link-layer address on the network to.
func (p *plan) moveLines(i int, away bool, mac string, s *controlState) (router, client []string) {
	u := &p.Uplinks[i]
	type side struct {
		ll, gua, rgua, rula, ula netip.Prefix
		r4                       netip.Prefix
	}
	home := side{ll: ll(u.RouterLL), gua: u.GUA, rgua: u.RouterGUA, rula: u.RouterULA, ula: u.ULA, r4: u.Router4}
	other := side{
		ll: ll(awayLL(u.RouterLL)), gua: awayPrefix(u.GUA), rgua: awayPrefix(u.RouterGUA),
		r4: netip.PrefixFrom(u.Router4.Addr().Next(), u.Router4.Bits()),
	}
	from, to := home, other
	if !away {
		from, to = other, home
	}
	router = []string{"link set dev " + ifISPDown + " address " + mac}
	for _, pair := range [][2]netip.Prefix{{from.ll, to.ll}, {from.rgua, to.rgua}, {from.rula, to.rula}, {from.r4, to.r4}} {
		if pair[0].IsValid() {
			router = append(router, addrLine("del", pair[0], ifISPDown))
		}
		if pair[1].IsValid() {
			router = append(router, addrLine("add", pair[1], ifISPDown))
		}
	}
	dev := u.ClientIf
	client = []string{addrLine("del", from.gua, dev), addrLine("add", to.gua, dev)}
	if from.ula.IsValid() {
		client = append(client, addrLine("del", from.ula, dev))
	}
	if to.ula.IsValid() {
		client = append(client, addrLine("add", to.ula, dev))
	}
	for _, gw := range []netip.Addr{to.ll.Addr(), to.r4.Addr()} {
		if (gw.Is4() && !s.V4) || (gw.Is6() && !s.V6) {
			continue
		}
		client = append(client,
			fmt.Sprintf("route replace default via %s dev %s metric %d", gw, dev, u.Metric),
			fmt.Sprintf("route replace default via %s dev %s table %d metric %d", gw, dev, u.Table, u.Metric))
	}
	return router, client
}

// move takes uplink i's link to the other network (away) or home.
func (o *owner) move(ctx context.Context, i int, away bool) error {
	s := &o.state
	if s.Moved[i] == away {
		return nil
	}
	if !s.V4 || !s.V6 {
		return errors.New("lab: Move needs both address families")
	}
	p := &o.plan
	u := &p.Uplinks[i]
	isp := p.ns(u.ISP)
	mac := o.homeMAC[i]
	if away {
		var err error
		if mac, err = linkMAC(isp, ifISPDown); err != nil {
			return err
		}
		o.homeMAC[i] = mac
		mac = awayMAC(i)
	}
	router, client := p.moveLines(i, away, mac, s)
	err := runStages(ctx, stage{{ns: isp, lines: router}}, stage{{ns: p.ns(roleClient), lines: client}})
	if err != nil {
		return err
	}
	s.Moved[i] = away
	return nil
}

// linkMAC returns the link-layer address of interface ifname in namespace ns.
func linkMAC(ns, ifname string) (string, error) {
	var mac string
	err := inNetNS(ns, func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr.String()
		return nil
	})
	return mac, err
}

// cutKeep is cut without the flush of the neighbour caches on healing.
func (o *owner) cutKeep(ctx context.Context, i int, on bool) error {
	p := &o.plan
	o.state.Cut[i] = on
	if err := runStages(ctx, p.cutStage(i, on)); err != nil || on {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return waitOperUp(wctx, p.ns(roleClient), []string{p.Uplinks[i].ClientIf})
}
