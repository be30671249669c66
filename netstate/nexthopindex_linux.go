package netstate

import (
	"slices"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Nexthop events applied to the stored nexthop objects.
//
// A router's zebra (FRR) or systemd-networkd creates nexthop objects ahead of
// the routes that will use them, and deletes them once no route does: while
// it converges, most nexthop events are of objects no route uses. Such an
// event changes no route, so a rebuild applies it to the objects the last dump
// showed (a route event that names the object later resolves at once) rather
// than dumping the host again.
//
// An event of an object that routes the snapshot may hold use, directly or
// through a group that lists it, still makes the rebuild dump the host: its
// deletion removes those routes without a RTM_DELROUTE (IPv4 always, IPv6
// with nexthop_compat_mode 0), and its replacement changes their next hops
// without any route event (compat mode 0). A Route does not say which object
// it came from, so only a dump tells which routes changed. The one exception
// is an event that shows the object as it already is: it changes nothing.
//
// The kernel nests no groups, and deleting an object removes it from the
// groups that list it (a group left without members is deleted too): the
// index does the same, whether or not the groups' own events follow.

// nexthopIndex is the host's nexthop objects, as the last dump showed them
// and the nexthop events since have changed them, with their next hops, and
// the objects that routes the snapshot may hold use.
type nexthopIndex struct {
	objects map[uint32]nexthopObject
	hops    nexthops            // the next hops of objects, by id
	groups  map[uint32][]uint32 // a member's id -> the ids of the groups that list it
	// used are the ids the routes of the last dump and the route events
	// applied since name (a superset of those the snapshot's routes name: a
	// route deleted or moved to another object since leaves its id here).
	used map[uint32]bool
}

// newNexthopIndex returns the index of a dump's objects; the routes using
// them are added with use.
func newNexthopIndex(objects map[uint32]nexthopObject) *nexthopIndex {
	x := &nexthopIndex{objects: objects, hops: resolveNexthops(objects)}
	for id, o := range objects {
		x.link(id, o)
	}
	return x
}

// of returns the next hops of route message r, whose bytes are data, when it
// uses a nexthop object and shows no next hop of its own (compat mode 0): the
// object's; nil for any other route. known is false for a route of an object
// not in x.
func (x *nexthopIndex) of(data []byte, r *rtnetlink.RouteMessage) (hops []routeHop, known bool) {
	if x == nil {
		return nexthops(nil).of(data, r)
	}
	return x.hops.of(data, r)
}

// use records that a route the snapshot may hold names the nexthop object
// of route message data, if any.
func (x *nexthopIndex) use(data []byte) {
	id, ok := routeNHID(data)
	if x == nil || !ok {
		return
	}
	if x.used == nil {
		x.used = make(map[uint32]bool)
	}
	x.used[id] = true
}

// inUse reports whether a route the snapshot may hold uses object id,
// directly or through a group.
func (x *nexthopIndex) inUse(id uint32) bool {
	if x.used[id] {
		return true
	}
	for _, g := range x.groups[id] {
		if x.used[g] {
			return true
		}
	}
	return false
}

// apply applies nexthop event m (RTM_NEWNEXTHOP or RTM_DELNEXTHOP) to the
// objects. It reports false when it cannot (see above): the host must be
// dumped.
func (x *nexthopIndex) apply(m netlink.Message) bool {
	o, err := parseNexthop(m.Data)
	if err != nil {
		return false
	}
	old, had := x.objects[o.id]
	if m.Header.Type == unix.RTM_NEWNEXTHOP && had && sameNexthop(old, o) {
		return true
	}
	if x.inUse(o.id) {
		return false
	}
	if m.Header.Type == unix.RTM_DELNEXTHOP {
		x.remove(o.id)
	} else {
		x.set(o)
	}
	return true
}

// sameNexthop reports whether a and b are the same object, as a route using
// it sees it.
func sameNexthop(a, b nexthopObject) bool {
	return a.id == b.id && a.index == b.index && a.gateway == b.gateway &&
		a.blackhole == b.blackhole && slices.Equal(a.group, b.group) && (a.group == nil) == (b.group == nil)
}

// set adds object o, or replaces the one of its id, and resolves again the
// groups that list it.
func (x *nexthopIndex) set(o nexthopObject) {
	if old, had := x.objects[o.id]; had {
		x.unlink(o.id, old)
	}
	if x.objects == nil {
		x.objects = make(map[uint32]nexthopObject)
	}
	x.objects[o.id] = o
	x.link(o.id, o)
	x.resolve(o.id)
	for _, g := range x.groups[o.id] {
		x.resolve(g)
	}
}

// remove deletes object id as the kernel does: from the groups that list it
// too, and the groups it leaves empty.
func (x *nexthopIndex) remove(id uint32) {
	old, had := x.objects[id]
	if !had {
		return
	}
	x.unlink(id, old)
	delete(x.objects, id)
	delete(x.hops, id)
	for _, g := range slices.Clone(x.groups[id]) {
		group := x.objects[g]
		members := slices.DeleteFunc(slices.Clone(group.group), func(m uint32) bool { return m == id })
		if len(members) == 0 {
			x.remove(g)
			continue
		}
		group.group = members
		x.set(group)
	}
	delete(x.groups, id)
}

// link records the members of o, of id, in x.groups; unlink forgets them.
func (x *nexthopIndex) link(id uint32, o nexthopObject) {
	for _, m := range o.group {
		if x.groups == nil {
			x.groups = make(map[uint32][]uint32)
		}
		if !slices.Contains(x.groups[m], id) {
			x.groups[m] = append(x.groups[m], id)
		}
	}
}

func (x *nexthopIndex) unlink(id uint32, o nexthopObject) {
	for _, m := range o.group {
		gs := slices.DeleteFunc(x.groups[m], func(g uint32) bool { return g == id })
		if len(gs) == 0 {
			delete(x.groups, m)
		} else {
			x.groups[m] = gs
		}
	}
}

// resolve sets the next hops of object id, as resolveNexthops does.
func (x *nexthopIndex) resolve(id uint32) {
	o, ok := x.objects[id]
	if !ok {
		delete(x.hops, id)
		return
	}
	one := resolveNexthops(map[uint32]nexthopObject{id: o})
	if o.group != nil {
		members := make(map[uint32]nexthopObject, len(o.group)+1)
		members[id] = o
		for _, m := range o.group {
			if mo, ok := x.objects[m]; ok {
				members[m] = mo
			}
		}
		one = resolveNexthops(members)
	}
	hops, ok := one[id]
	if !ok {
		delete(x.hops, id)
		return
	}
	if x.hops == nil {
		x.hops = make(nexthops)
	}
	x.hops[id] = hops
}
