package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// advert is what an ISP router advertises now: its PREF64 and until when.
type advert struct {
	prefix netip.Prefix
	until  time.Time
}

// rsAnswer answers the Router Solicitations that reach one ISP router from
// the client's link, as a router does: with a Router Advertisement carrying
// what it advertises now (its PREF64, with the lifetime left), at once (a
// real router may wait up to 0.5 s: RFC 4861 section 6.2.6). It sends nothing
// while it advertises nothing.
type rsAnswer struct {
	pc *ipv6.PacketConn
	wg sync.WaitGroup
}

// answerSolicitations starts the answer of uplink i's router.
func (o *owner) answerSolicitations(i int) (*rsAnswer, error) {
	p := &o.plan
	u := &p.Uplinks[i]
	ns := p.ns(u.ISP)
	ifi, err := interfaceIn(ns, ifISPDown)
	if err != nil {
		return nil, err
	}
	var c *icmp.PacketConn
	if err := inNetNS(ns, func() error {
		var err error
		c, err = icmp.ListenPacket("ip6:ipv6-icmp", "::")
		return err
	}); err != nil {
		return nil, fmt.Errorf("lab: RS socket in %s: %w", ns, err)
	}
	pc := c.IPv6PacketConn()
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeRouterSolicitation)
	if err := errors.Join(pc.SetICMPFilter(&f), pc.SetControlMessage(ipv6.FlagInterface|ipv6.FlagHopLimit, true)); err != nil {
		c.Close()
		return nil, fmt.Errorf("lab: RS socket in %s: %w", ns, err)
	}
	a := &rsAnswer{pc: pc}
	a.wg.Go(func() {
		b := make([]byte, 1500)
		for {
			_, cm, _, err := pc.ReadFrom(b)
			if err != nil {
				return // closed
			}
			// RFC 4861 section 6.1.1: only a solicitation with hop limit
			// 255, here from the client's link.
			if cm == nil || cm.IfIndex != ifi.Index || cm.HopLimit != 255 {
				continue
			}
			adv := o.advertised[i].Load()
			if adv == nil || !time.Now().Before(adv.until) {
				continue
			}
			if err := o.sendPREF64(i, adv.prefix, time.Until(adv.until)); err != nil {
				o.log.Sugar().Warnf("lab: answering a router solicitation: %v", err)
			}
		}
	})
	return a, nil
}

// Close stops answering and waits for the answering goroutine.
func (a *rsAnswer) Close() error {
	err := a.pc.Close()
	a.wg.Wait()
	return err
}
