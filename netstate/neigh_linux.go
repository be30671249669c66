package netstate

import (
	"fmt"
	"net"
	"slices"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"
)

// neighState reduces the kernel's NUD_* bits to a NeighState.
func neighState(nud uint16) NeighState {
	switch {
	case nud&(unix.NUD_REACHABLE|unix.NUD_PERMANENT|unix.NUD_NOARP) != 0:
		return NeighReachable
	case nud&(unix.NUD_STALE|unix.NUD_DELAY|unix.NUD_PROBE) != 0:
		return NeighStale
	case nud&unix.NUD_FAILED != 0:
		return NeighFailed
	case nud&unix.NUD_INCOMPLETE != 0:
		return NeighIncomplete
	}
	return NeighNone
}

// neighOf converts a neighbour message of an IPv4 or IPv6 neighbour; ok is false
// for other families (bridge forwarding entries) and messages without an address.
// The address carries no zone.
func neighOf(m rtnetlink.NeighMessage) (n Neighbor, ok bool) {
	if (m.Family != unix.AF_INET && m.Family != unix.AF_INET6) || m.Attributes == nil {
		return Neighbor{}, false
	}
	ip, ok := netipAddr(m.Attributes.Address)
	if !ok || ip.Is4() != (m.Family == unix.AF_INET) {
		return Neighbor{}, false
	}
	n = Neighbor{Index: int(m.Index), IP: ip, State: neighState(m.State)}
	if hw := m.Attributes.LLAddress; len(hw) > 0 {
		n.HWAddr = net.HardwareAddr(hw).String()
	}
	return n, true
}

// routerNeighbors returns the entries of msgs that belong to the snapshot's default
// routers, sorted, link-local ones zoned.
func (s *Snapshot) routerNeighbors(msgs []rtnetlink.NeighMessage) []Neighbor {
	routers := s.routers()
	var out []Neighbor
	for _, m := range msgs {
		n, ok := neighOf(m)
		if !ok {
			continue
		}
		if _, found := slices.BinarySearchFunc(routers, routerKey{n.Index, n.IP}, compareRouterKeys); !found {
			continue
		}
		if n.IP.Is6() && n.IP.IsLinkLocalUnicast() {
			n.IP = n.IP.WithZone(s.zoneFor(n.Index))
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Neighbor) int {
		return compareRouterKeys(routerKey{a.Index, a.IP.WithZone("")}, routerKey{b.Index, b.IP.WithZone("")})
	})
	return slices.CompactFunc(out, func(a, b Neighbor) bool { return a.Index == b.Index && a.IP == b.IP })
}

// routerSet is the set of default routers whose neighbour events matter.
type routerSet map[routerKey]struct{}

func newRouterSet(s *Snapshot) routerSet {
	set := make(routerSet)
	for _, k := range s.routers() {
		set[k] = struct{}{}
	}
	return set
}

// neighKey is eventKey for neighbour messages: only the entries of the routers in
// set are relevant, and of those only what a Snapshot shows (the reduced state and
// the link-layer address). A nil set ignores every neighbour.
func neighKey(data []byte, set routerSet) (key, state string, ok bool) {
	var m rtnetlink.NeighMessage
	if m.UnmarshalBinary(data) != nil {
		return "", "", false
	}
	n, ok := neighOf(m)
	if !ok {
		return "", "", false
	}
	if _, watched := set[routerKey{n.Index, n.IP}]; !watched {
		return "", "", false
	}
	// A move between usable states (reachable, stale, delay, probe), which
	// the kernel makes every half minute or so, is no change of a Snapshot
	// (see sameNeighbor): the same state here, so that it does not make the
	// host be read again for nothing (a router's full table takes a second).
	state = "usable"
	if !n.State.Usable() {
		state = n.State.String()
	}
	return fmt.Sprint("neigh", n.Index, n.IP), state + " " + n.HWAddr, true
}
