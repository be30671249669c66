//go:build !linux

package netstate

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"
)

// errNoEvents is what listen returns where change events do not exist.
var errNoEvents = errors.New("netstate: no change events on this system")

// otherBackend polls the standard library's interface list: no routes, no
// gateways, no address flags, lifetimes Forever.
type otherBackend struct{}

func newBackend(cfg config) (backend, error) {
	if cfg.netns != 0 {
		return nil, errors.New("netstate: WithNetNS is only supported on Linux")
	}
	return otherBackend{}, nil
}

func (otherBackend) listen() error     { return errNoEvents }
func (otherBackend) read(func()) error { return errNoEvents }
func (otherBackend) close() error      { return nil }

func (otherBackend) dump() (*Snapshot, bool, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, false, err
	}
	s := &Snapshot{Taken: time.Now()}
	for _, ifi := range ifs {
		l := Link{
			Index:    ifi.Index,
			Name:     ifi.Name,
			Up:       ifi.Flags&net.FlagUp != 0,
			Running:  ifi.Flags&net.FlagRunning != 0,
			Loopback: ifi.Flags&net.FlagLoopback != 0,
			MTU:      ifi.MTU,
		}
		s.Links = append(s.Links, l)
		if l.Loopback {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue // the interface went away meanwhile
		}
		for _, a := range addrs {
			if ad, ok := addrOfNet(a, l); ok {
				s.Addrs = append(s.Addrs, ad)
			}
		}
	}
	slices.SortFunc(s.Links, func(a, b Link) int { return cmp.Compare(a.Index, b.Index) })
	slices.SortFunc(s.Addrs, func(a, b Addr) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), a.IP.Compare(b.IP))
	})
	return s, false, nil
}

// addrOfNet converts one address of net.Interface.Addrs.
func addrOfNet(a net.Addr, l Link) (Addr, bool) {
	n, ok := a.(*net.IPNet)
	if !ok {
		return Addr{}, false
	}
	ip, ok := netipAddr(n.IP)
	if !ok {
		return Addr{}, false
	}
	bits, _ := n.Mask.Size()
	if ip.Is6() && ip.IsLinkLocalUnicast() {
		ip = ip.WithZone(l.Name)
	}
	return Addr{IP: ip, Bits: bits, Index: l.Index, Interface: l.Name,
		PreferredLifetime: Forever, ValidLifetime: Forever}, true
}

// routeFor decides without routes: the interface of src, or one with an address
// of dst's family; an unknown src is NoRoute.
func (otherBackend) routeFor(_ context.Context, cur *Snapshot, src, dst netip.Addr) (Decision, error) {
	return cur.guessRoute(src, dst)
}
