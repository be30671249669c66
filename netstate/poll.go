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

// pollBackend reads the host with a list function, polled, and answers RouteFor
// by connecting a datagram socket (routeByConnect): the backend of systems other
// than Linux, and Linux's when rtnetlink is refused. Its snapshots have links
// and addresses, but no routes, rules or gateways.
type pollBackend struct {
	list func() (*Snapshot, error)
}

func (pollBackend) listen() error     { return errNoEvents }
func (pollBackend) read(func()) error { return errNoEvents }
func (pollBackend) close() error      { return nil }

func (b pollBackend) dump() (*Snapshot, bool, error) {
	s, err := b.list()
	if err != nil {
		return nil, false, err
	}
	sortSnapshot(s)
	return s, false, nil
}

func (pollBackend) routeFor(ctx context.Context, cur *Snapshot, src, dst netip.Addr) (Decision, error) {
	return routeByConnect(ctx, cur, src, dst)
}

// sortSnapshot puts links and addresses in the order Snapshot documents.
func sortSnapshot(s *Snapshot) {
	slices.SortFunc(s.Links, func(a, b Link) int { return cmp.Compare(a.Index, b.Index) })
	slices.SortFunc(s.Addrs, func(a, b Addr) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), a.IP.Compare(b.IP))
	})
}

// stdlibSnapshot reads the host from the standard library's interface list:
// links and addresses without flags, lifetimes Forever.
func stdlibSnapshot() (*Snapshot, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
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
	return s, nil
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
