package netstate

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// maxDedup bounds the objects a dedup remembers; past it, it starts over (which
// at worst lets a duplicate through, costing one needless rebuild).
const maxDedup = 4096

// dedup drops change events that repeat what the last event for the same object
// said, and events that cannot change a Snapshot. Its zero value is ready.
type dedup struct {
	last map[string]string // object key -> its last state
	// routers, when set, holds the default routers whose neighbour entries are
	// relevant; without it every neighbour event is ignored.
	routers *atomic.Pointer[routerSet]
}

func (d *dedup) reset() { d.last = nil }

// relevant reports whether m may change the snapshot.
func (d *dedup) relevant(m netlink.Message) bool {
	key, state, ok := eventKey(m, d.routerSet())
	if !ok {
		return false
	}
	switch m.Header.Type {
	case unix.RTM_DELLINK, unix.RTM_DELADDR:
		delete(d.last, key)
		d.forgetRoutes()
		return true
	case unix.RTM_DELROUTE:
		// Deleting one next hop of an IPv6 multipath route is a RTM_DELROUTE
		// of that hop alone: the key of the whole route, as its RTM_NEWROUTE
		// named it, would stay seen, and appending the hop again (the same
		// message) would be dropped.
		delete(d.last, key)
		d.forgetRoutes()
		return true
	case unix.RTM_DELNEXTHOP:
		// The IPv4 routes using it went without a RTM_DELROUTE.
		delete(d.last, key)
		d.forgetRoutes()
		return true
	case unix.RTM_DELRULE, unix.RTM_DELNEIGH:
		delete(d.last, key)
		return true
	}
	if prev, seen := d.last[key]; seen && prev == state {
		return false
	}
	if m.Header.Type == unix.RTM_NEWLINK || (m.Header.Type == unix.RTM_NEWROUTE && m.Header.Flags&netlink.Replace != 0) {
		// A route replaced in place (ip route replace) comes without a
		// RTM_DELROUTE of the route it replaced: putting that one back
		// later must count.
		d.forgetRoutes()
	}
	if d.last == nil || len(d.last) >= maxDedup {
		d.last = make(map[string]string)
	}
	d.last[key] = state
	return true
}

// forgetRoutes forgets the routes seen: a link going down or an address going
// away makes the kernel drop IPv4 routes without a RTM_DELROUTE (fib_disable_ip),
// and the same route added again later must count.
func (d *dedup) forgetRoutes() {
	for k := range d.last {
		if strings.HasPrefix(k, "route") {
			delete(d.last, k)
		}
	}
}

// routerSet returns the routers whose neighbour events are relevant, or nil.
func (d *dedup) routerSet() routerSet {
	if d.routers == nil {
		return nil
	}
	if p := d.routers.Load(); p != nil {
		return *p
	}
	return nil
}

// eventKey names the object an event is about and the part of its state a
// Snapshot shows. ok is false for events a Snapshot ignores: routes of the local
// table, cached clones, neighbours other than the default routers in routers,
// and messages of other types. A link, address or route message that does not
// decode is kept (with a key of its own bytes), so a rebuild decides.
func eventKey(m netlink.Message, routers routerSet) (key, state string, ok bool) {
	raw := string(m.Data)
	switch m.Header.Type {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		var l rtnetlink.LinkMessage
		if l.UnmarshalBinary(m.Data) != nil || l.Attributes == nil {
			return "raw" + raw, "", true
		}
		a := l.Attributes
		return fmt.Sprint("link", l.Index), fmt.Sprint(l.Flags&(unix.IFF_UP|unix.IFF_RUNNING|unix.IFF_LOOPBACK), a.Name, a.MTU, a.OperationalState), true
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		var a rtnetlink.AddressMessage
		if a.UnmarshalBinary(m.Data) != nil || a.Attributes == nil {
			return "raw" + raw, "", true
		}
		at := a.Attributes
		return fmt.Sprint("addr", a.Family, a.Index, at.Address, at.Local, a.PrefixLength), fmt.Sprint(uint32(a.Flags) | at.Flags), true
	case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
		return routeKey(m.Data)
	case unix.RTM_NEWNEXTHOP, unix.RTM_DELNEXTHOP:
		// A nexthop object changed or deleted changes the routes using it
		// (deleted ones without RTM_DELROUTE): a rebuild dumps the host,
		// unless no route uses it (see nexthopindex_linux.go).
		return nexthopKey(m.Data)
	case unix.RTM_NEWRULE, unix.RTM_DELRULE:
		return "rule" + raw, "", true
	case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
		return neighKey(m.Data, routers)
	}
	return "", "", false
}

// routeKey is eventKey for route messages: everything but the expiry (which RAs
// refresh) and the router preference (its state) identifies the route. Its
// nexthop object counts: with nexthop_compat_mode 0 a route moved to another
// object shows nothing else that changed.
func routeKey(data []byte) (key, state string, ok bool) {
	var r rtnetlink.RouteMessage
	if r.UnmarshalBinary(data) != nil {
		return "raw" + string(data), "", true
	}
	a := r.Attributes
	table := uint32(r.Table)
	if a.Table != 0 {
		table = a.Table
	}
	if table == localTable || r.Flags&unix.RTM_F_CLONED != 0 {
		return "", "", false
	}
	mp := make([]string, 0, len(a.Multipath))
	for _, nh := range a.Multipath {
		mp = append(mp, fmt.Sprint(nh.Hop.IfIndex, nh.Gateway, nh.Via))
	}
	pref := ""
	if a.Pref != nil { // an RA may change it
		pref = fmt.Sprint(*a.Pref)
	}
	nhid, _ := routeNHID(data)
	return fmt.Sprint("route", r.Family, table, r.Type, a.Dst, r.DstLength, routeFrom(data), a.Priority, r.Tos,
		a.OutIface, a.Gateway, a.Via, a.Src, mp, nhid), pref, true
}

// nexthopKey is eventKey for nexthop object messages: the object is its id,
// and all it shows is its state. With nexthop_compat_mode 0 "ip nexthop
// replace" changes the routes using the object without a route event, so an
// object replaced back to what it was before is a change.
func nexthopKey(data []byte) (key, state string, ok bool) {
	o, err := parseNexthop(data)
	if err != nil {
		return "raw" + string(data), "", true
	}
	return fmt.Sprint("nexthop", o.id), string(data), true
}
