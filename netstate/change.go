package netstate

import (
	"net/netip"
	"slices"
)

// ChangeDelta is the change from one Snapshot to the next. It is the one place that
// answers what consumers of snapshots ask of a change: is it a change at all, does
// it matter to probing, what came back. Together with the Snapshot methods
// KernelDown, OnLink and NetworkOf it replaces the questions each consumer used to
// answer on its own.
type ChangeDelta struct {
	// Old is the previous snapshot, nil when New is the first; New is the current.
	Old, New *Snapshot
}

// Changes returns the change from old (nil when there was none) to new.
func Changes(old, new *Snapshot) ChangeDelta { return ChangeDelta{Old: old, New: new} }

// Same reports whether Old and New describe the same host, ignoring Generation,
// Taken, address lifetimes that only ran down with time, and routers that only
// moved between usable neighbour states. A first snapshot is a change.
func (d ChangeDelta) Same() bool { return d.Old != nil && sameHost(d.Old, d.New) }

// Probing reports whether the change matters to probing: the default gateways,
// the addresses or their flags, or the links' states changed, or a default
// router became usable or unusable (failed, or being resolved). A router going
// from reachable to stale and back, as the kernel's neighbour cache does every
// half minute or so, does not matter. A first snapshot matters.
func (d ChangeDelta) Probing() bool {
	a, b := d.Old, d.New
	if a == nil {
		return true
	}
	return a.Gateway4 != b.Gateway4 || a.Gateway6 != b.Gateway6 ||
		!slices.EqualFunc(a.Addrs, b.Addrs, func(x, y Addr) bool {
			return x.IP == y.IP && x.Index == y.Index && x.Flags == y.Flags
		}) ||
		!slices.EqualFunc(a.Links, b.Links, func(x, y Link) bool {
			return x.Index == y.Index && x.Up == y.Up && x.Running == y.Running
		}) ||
		!slices.EqualFunc(a.Neighbors, b.Neighbors, func(x, y Neighbor) bool {
			return x.Index == y.Index && x.IP == y.IP && x.State.Usable() == y.State.Usable()
		})
}

// GatewaysChanged reports whether the preferred default gateway of a family
// changed (also from none, or to none).
func (d ChangeDelta) GatewaysChanged() bool {
	return d.Old == nil || d.Old.Gateway4 != d.New.Gateway4 || d.Old.Gateway6 != d.New.Gateway6
}

// Revived returns, in index order, the links of New on which something came back
// that can make a source work again: the link came up or got its carrier back, a
// usable address appeared on it (added, or no longer tentative), a default route
// through it appeared, or its default router's neighbour entry left the failed
// state (resolved again, or flushed). A first snapshot revives nothing.
func (d ChangeDelta) Revived() []int {
	if d.Old == nil {
		return nil
	}
	var out []int
	for _, l := range d.New.Links {
		if d.revived(l) {
			out = append(out, l.Index)
		}
	}
	return out
}

// revived reports whether something came back on link l of New.
func (d ChangeDelta) revived(l Link) bool {
	if !l.Up || !l.Running {
		return false
	}
	ol, ok := d.Old.Link(l.Index)
	if !ok || !ol.Up || !ol.Running {
		return true
	}
	// A link-local address's zone is its link's name: a renamed link's
	// addresses and gateways are the old ones under the old name.
	oldZone := func(a netip.Addr) netip.Addr {
		if a.Zone() != "" {
			return a.WithZone(ol.Name)
		}
		return a
	}
	for _, a := range d.New.Addrs {
		if a.Index != l.Index || !a.Usable() {
			continue
		}
		if o, ok := d.Old.Addr(oldZone(a.IP)); !ok || !o.Usable() || o.Index != l.Index {
			return true
		}
	}
	for _, r := range d.New.Routes {
		if r.Index != l.Index || r.Type != Unicast || r.Dst.Bits() != 0 {
			continue
		}
		r.Gateway = oldZone(r.Gateway)
		if !slices.Contains(d.Old.Routes, r) {
			return true
		}
	}
	for _, is6 := range []bool{false, true} {
		gw, ok := d.New.Router(l.Index, is6)
		if !ok {
			continue
		}
		was, _ := d.Old.Neighbor(l.Index, gw)
		now, _ := d.New.Neighbor(l.Index, gw)
		if !was.State.Usable() && was.State != NeighNone && now.State.Usable() {
			return true
		}
	}
	return false
}

// KernelDown reports whether the kernel cannot send from a: its link is known and
// down or without carrier, or the snapshot knows routes of a's family but none
// through a's link for a (see Route.From). A snapshot without links or without
// routes of the family (a fake, or a system that does not report them) says
// nothing.
func (s *Snapshot) KernelDown(a Addr) bool {
	if l, ok := s.Link(a.Index); ok && (!l.Up || !l.Running) {
		return true
	}
	known := false
	for _, r := range s.Routes {
		if r.Dst.Addr().Is6() != a.IP.Is6() {
			continue
		}
		known = true
		if r.Type == Unicast && r.Index == a.Index && matches(r.From, a.IP) {
			return false
		}
	}
	return known
}

// OnLink reports whether dst is reached without a router: a link-local address, a
// default gateway, or an address inside the on-link prefix of one of the
// snapshot's (non-link-local) addresses. A zone on dst is ignored.
func (s *Snapshot) OnLink(dst netip.Addr) bool {
	if dst.IsLinkLocalUnicast() {
		return true
	}
	bare := dst.WithZone("")
	if bare == s.Gateway4.WithZone("") || bare == s.Gateway6.WithZone("") {
		return true
	}
	for _, a := range s.Addrs {
		if !a.IP.IsLinkLocalUnicast() && a.Prefix().Contains(bare) {
			return true
		}
	}
	return false
}

// Network identifies the network a source address is attached to: the default
// router of its link and family (by address and, once resolved, link-layer
// address) and the address's own on-link prefix. A host that moves to another
// network and back finds the same Network again; two networks that reuse a router
// address and a prefix (192.168.1.1 and 192.168.1.0/24) differ by the router's
// link-layer address when both are known. Compare with Same, not ==.
type Network struct {
	Router netip.Addr   // the address's default router (RouterOf), without zone; invalid when it has none
	HWAddr string       // the router's link-layer address; empty when unknown
	Prefix netip.Prefix // the address's on-link prefix
}

// NetworkOf returns the network a is attached to in s.
func (s *Snapshot) NetworkOf(a Addr) Network {
	n := Network{Prefix: a.Prefix()}
	if gw, ok := s.RouterOf(a); ok {
		n.Router = gw.WithZone("")
		if nb, ok := s.Neighbor(a.Index, gw); ok {
			n.HWAddr = nb.HWAddr
		}
	}
	return n
}

// Same reports whether n and o are the same network: the same router and prefix,
// and the same router link-layer address unless one of them is unknown.
func (n Network) Same(o Network) bool {
	return n.Router == o.Router && n.Prefix == o.Prefix &&
		(n.HWAddr == "" || o.HWAddr == "" || n.HWAddr == o.HWAddr)
}

// SameRouter reports whether n and o are behind the same router (Same without the
// prefix): two addresses of one network.
func (n Network) SameRouter(o Network) bool {
	return n.Router == o.Router && (n.HWAddr == "" || o.HWAddr == "" || n.HWAddr == o.HWAddr)
}
