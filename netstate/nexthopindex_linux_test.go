package netstate

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Nexthop objects of the tests below, on the recorded multihomed host (v0 is
// index 100 with 192.0.2.0/24, v1 101 with 198.51.100.0/24).
func nhViaObject(id uint32, index uint32, gw string) netlink.Message {
	ip := netip.MustParseAddr(gw)
	family := byte(unix.AF_INET)
	if ip.Is6() {
		family = unix.AF_INET6
	}
	return nhMessage(nhMsg(family, nla{unix.NHA_ID, u32(id)}, nla{unix.NHA_OIF, u32(index)}, nla{unix.NHA_GATEWAY, ip.AsSlice()}))
}

func nhGroupObject(id uint32, members ...uint32) netlink.Message {
	return nhMessage(nhMsg(0, nla{unix.NHA_ID, u32(id)}, nla{unix.NHA_GROUP, nhGroupOf(members...)}))
}

func nhBlackholeObject(id uint32) netlink.Message {
	return nhMessage(nhMsg(unix.AF_INET6, nla{unix.NHA_ID, u32(id)}, nla{unix.NHA_BLACKHOLE, nil}))
}

// nhDeleted is the RTM_DELNEXTHOP of object message m.
func nhDeleted(m netlink.Message) netlink.Message {
	m.Header.Type = unix.RTM_DELNEXTHOP
	return m
}

// nhRoute is the message of route r that names nexthop object id.
func nhRoute(t testing.TB, r rt, id uint32) netlink.Message {
	return withRouteAttr(r.msg(t), rtaNHID, u32(id))
}

// TestNexthopEventsMatchDump applies sequences of nexthop object and route
// events to the snapshot of a dump and checks the result against the dump of
// the host after them: the same snapshot, and, when the events were applied,
// the same next hops of every object (a group's follow its members). An event
// of an object no route uses is applied without reading the host; one of an
// object a route the snapshot may hold uses makes the rebuild dump it.
func TestNexthopEventsMatchDump(t *testing.T) {
	var (
		a7  = nhViaObject(7, 100, "192.0.2.1")
		a7b = nhViaObject(7, 100, "192.0.2.2") // 7 replaced
		b8  = nhViaObject(8, 101, "198.51.100.1")
		g9  = nhGroupObject(9, 7, 8)
		g9a = nhGroupObject(9, 7) // 9 without 8
		g10 = nhGroupObject(10, 8)
		v17 = nhViaObject(17, 100, "fe80::1")
		bh  = nhBlackholeObject(15)
		r40 = rt{dst: "10.40.0.0/16"}
		r41 = rt{dst: "10.41.0.0/16"}
		r6  = rt{dst: "2001:db8:8::/48", prio: 1024}
		r77 = rt{dst: "10.40.0.0/16", table: 77} // a table no rule looks up
		// r40 as nexthop_compat_mode 1 shows it: the object's next hop too.
		r40compat = withRouteAttr(rt{dst: "10.40.0.0/16", gw: "192.0.2.1", oif: 100}.msg(t), rtaNHID, u32(7))
	)
	route := func(r rt, id uint32) netlink.Message { return nhRoute(t, r, id) }
	tests := []struct {
		name     string
		before   []netlink.Message // what the first dump shows, besides the recorded host
		events   []netlink.Message
		after    []netlink.Message // what a dump shows after the events
		wantDump bool
	}{
		{name: "new object no route uses",
			before: []netlink.Message{a7, route(r40, 7)}, events: []netlink.Message{b8},
			after: []netlink.Message{a7, b8, route(r40, 7)}},
		{name: "new object, then a route of it",
			before: []netlink.Message{a7}, events: []netlink.Message{b8, route(r41, 8)},
			after: []netlink.Message{a7, b8, route(r41, 8)}},
		{name: "new group of new objects, then a route of it",
			events: []netlink.Message{a7, b8, g9, route(r41, 9)},
			after:  []netlink.Message{a7, b8, g9, route(r41, 9)}},
		{name: "new IPv6 object and blackhole, then routes of them",
			events: []netlink.Message{v17, bh, route(r6, 17), route(rt{dst: "2001:db8:9::/48", prio: 1024}, 15)},
			after:  []netlink.Message{v17, bh, route(r6, 17), route(rt{dst: "2001:db8:9::/48", prio: 1024}, 15)}},
		{name: "unused object deleted",
			before: []netlink.Message{a7, b8, route(r40, 7)}, events: []netlink.Message{nhDeleted(b8)},
			after: []netlink.Message{a7, route(r40, 7)}},
		{name: "unused object replaced, then used",
			before: []netlink.Message{a7}, events: []netlink.Message{a7b, route(r40, 7)},
			after: []netlink.Message{a7b, route(r40, 7)}},
		{name: "member of an unused group deleted, then the group used",
			before: []netlink.Message{a7, b8, g9, route(r40, 7)}, events: []netlink.Message{nhDeleted(b8), route(r41, 9)},
			after: []netlink.Message{a7, g9a, route(r40, 7), route(r41, 9)}},
		{name: "member of an unused group deleted, with the group's event",
			before: []netlink.Message{a7, b8, g9}, events: []netlink.Message{nhDeleted(b8), g9a, route(r41, 9)},
			after: []netlink.Message{a7, g9a, route(r41, 9)}},
		{name: "last member of an unused group deleted",
			before: []netlink.Message{a7, b8, g10}, events: []netlink.Message{nhDeleted(b8)},
			after: []netlink.Message{a7}},
		{name: "unused group changed, then used",
			before: []netlink.Message{a7, b8, g9}, events: []netlink.Message{g9a, route(r41, 9)},
			after: []netlink.Message{a7, b8, g9a, route(r41, 9)}},
		{name: "unused member of an unused group replaced, then the group used",
			before: []netlink.Message{a7, b8, g9}, events: []netlink.Message{a7b, route(r41, 9)},
			after: []netlink.Message{a7b, b8, g9, route(r41, 9)}},
		{name: "object shown as it is",
			before: []netlink.Message{a7, route(r40, 7)}, events: []netlink.Message{a7},
			after: []netlink.Message{a7, route(r40, 7)}},
		{name: "object of a table no rule looks up replaced",
			before: []netlink.Message{a7, route(r77, 7)}, events: []netlink.Message{a7b},
			after: []netlink.Message{a7b, route(r77, 7)}},
		// What only a dump tells.
		{name: "used object replaced", wantDump: true,
			before: []netlink.Message{a7, route(r40, 7)}, events: []netlink.Message{a7b},
			after: []netlink.Message{a7b, route(r40, 7)}},
		{name: "used object deleted", wantDump: true,
			before: []netlink.Message{a7, route(r40, 7)}, events: []netlink.Message{nhDeleted(a7)},
			after: []netlink.Message{}},
		{name: "object of a compat mode 1 route deleted", wantDump: true,
			before: []netlink.Message{a7, r40compat}, events: []netlink.Message{nhDeleted(a7)},
			after: []netlink.Message{}},
		{name: "member of a used group replaced", wantDump: true,
			before: []netlink.Message{a7, b8, g9, route(r41, 9)}, events: []netlink.Message{a7b},
			after: []netlink.Message{a7b, b8, g9, route(r41, 9)}},
		{name: "member of a used group deleted", wantDump: true,
			before: []netlink.Message{a7, b8, g9, route(r41, 9)}, events: []netlink.Message{nhDeleted(b8), g9a},
			after: []netlink.Message{a7, g9a, route(r41, 9)}},
		{name: "object used by a route event, then replaced", wantDump: true,
			before: []netlink.Message{a7}, events: []netlink.Message{route(r40, 7), a7b},
			after: []netlink.Message{a7b, route(r40, 7)}},
		{name: "object of a dumped route the object dump lacked", wantDump: true,
			before: []netlink.Message{route(r40, 7)}, events: []netlink.Message{a7},
			after: []netlink.Message{a7, route(r40, 7)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sn := &sandboxNetlink{extra: tt.before}
			b, cur := liveSandbox(t, sn)
			if !b.receive(tt.events, func() {}) {
				t.Fatal("the events are not relevant")
			}
			sn.extra = tt.after
			dumps := sn.dumps()
			got, _, err := b.update(cur)
			if err != nil {
				t.Fatal(err)
			}
			if dumped := sn.dumps() > dumps; dumped != tt.wantDump {
				t.Errorf("dumped the host: %v, want %v", dumped, tt.wantDump)
			}
			want, idx, err := buildSnapshot(append(readMultihomed(t), tt.after...), got.Taken)
			if err != nil {
				t.Fatal(err)
			}
			if !sameHost(got, want) {
				t.Errorf("the snapshot is not the dump's")
				diffRoutes(t, got.Routes, want.Routes)
			}
			if tt.wantDump {
				return
			}
			if g, w := b.index.nexthops.hops, idx.nexthops.hops; len(g)+len(w) > 0 && !maps.EqualFunc(g, w, slices.Equal) {
				t.Errorf("next hops of the objects %+v, a dump's %+v", g, w)
			}
			if g, w := groupsOf(b.index.nexthops), groupsOf(idx.nexthops); !reflect.DeepEqual(g, w) {
				t.Errorf("groups by member %v, a dump's %v", g, w)
			}
		})
	}
}

// groupsOf returns x.groups with each list sorted, nil when empty.
func groupsOf(x *nexthopIndex) map[uint32][]uint32 {
	if len(x.groups) == 0 {
		return nil
	}
	out := make(map[uint32][]uint32, len(x.groups))
	for m, gs := range x.groups {
		out[m] = slices.Sorted(slices.Values(gs))
	}
	return out
}

// TestNewNexthopObjectReadsNothing: a Monitor on a router whose zebra creates
// nexthop objects ahead of the routes that will use them (FRR converging)
// applies each new object without reading the host again, and a route then
// added with the object's id has its next hops at once; replacing the object
// once routes use it reads the host.
func TestNewNexthopObjectReadsNothing(t *testing.T) {
	m, sn := newRouteMonitor(t, []netlink.Message{nhViaObject(7, 100, "192.0.2.1"), nhRoute(t, rt{dst: "10.40.0.0/16"}, 7)})
	rebuild := rebuilder(t, m, sn)
	for id := uint32(100); id < 110; id++ {
		sn.send(nhViaObject(id, 101, "198.51.100.1"))
		rebuild("a new object no route uses", false)
	}
	sn.send(nhGroupObject(200, 100, 101))
	rebuild("a new group no route uses", false)
	sn.send(nhDeleted(nhViaObject(109, 101, "198.51.100.1")))
	rebuild("an object no route uses deleted", false)
	dst := netip.MustParsePrefix("10.41.0.0/16")
	sn.send(nhRoute(t, rt{dst: dst.String()}, 200))
	s := rebuild("a route of the new group", false)
	var got []Route
	for _, r := range s.Routes {
		if r.Dst == dst {
			got = append(got, r)
		}
	}
	gw := netip.MustParseAddr("198.51.100.1")
	want := []Route{{Dst: dst, Gateway: gw, Index: 101, Table: mainTable}, {Dst: dst, Gateway: gw, Index: 101, Table: mainTable}}
	if !slices.Equal(got, want) {
		t.Errorf("routes to %v %+v, want %+v", dst, got, want)
	}
	sn.send(nhViaObject(100, 100, "192.0.2.9"))
	rebuild("a member of a used group replaced", true)
	sn.send(nhViaObject(7, 100, "192.0.2.2"))
	rebuild("a used object replaced", true)
}

// BenchmarkNexthopEvent is one rebuild after a new nexthop object no route
// uses, on a host of 10,000 routes of nexthop objects (compat mode 0) served
// by a sandbox rtnetlink: the cost of each debounce while FRR converges.
func BenchmarkNexthopEvent(b *testing.B) {
	const n = 10_000
	extra := []netlink.Message{nhViaObject(7, 100, "192.0.2.1"), nhViaObject(8, 101, "198.51.100.1"), nhGroupObject(9, 7, 8)}
	for i := range n {
		extra = append(extra, nhRoute(b, rt{dst: manyRouteDst(i).String()}, uint32(7+i%3)))
	}
	sn := &sandboxNetlink{extra: extra}
	be := sandboxBackend(b, sn, 0)
	defer be.close()
	cur, _, err := be.dump()
	if err != nil {
		b.Fatal(err)
	}
	if len(cur.Routes) < n {
		b.Fatalf("%d routes, want at least %d", len(cur.Routes), n)
	}
	be.events.setLive(true)
	id := uint32(1000)
	dumps := sn.dumps()
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		be.receive([]netlink.Message{nhViaObject(id, 101, "198.51.100.2")}, func() {})
		id++
		if cur, _, err = be.update(cur); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(sn.dumps()-dumps)/float64(b.N), "dumps/event")
}

// TestNexthopEventSequencesMatchDump plays random sequences of nexthop object
// and route changes on a model of the kernel, sending the events the kernel
// sends (a deleted object leaves the groups that list it, a group left empty
// is deleted, and the routes of deleted objects go without any event), and
// checks after each batch that the Monitor's rebuild, applied or dumped, is
// the snapshot a dump of the model gives.
func TestNexthopEventSequencesMatchDump(t *testing.T) {
	var (
		rnd     = rand.New(rand.NewPCG(1, 2))
		singles = map[uint32]netlink.Message{}
		groups  = map[uint32][]uint32{}
		routes  = map[string]uint32{} // destination -> object
	)
	state := func() []netlink.Message {
		var out []netlink.Message
		for _, m := range singles {
			out = append(out, m)
		}
		for id, ms := range groups {
			out = append(out, nhGroupObject(id, ms...))
		}
		for dst, id := range routes {
			out = append(out, nhRoute(t, rt{dst: dst}, id))
		}
		return out
	}
	dropRoutes := func(id uint32) { // the kernel's silent flush
		maps.DeleteFunc(routes, func(_ string, r uint32) bool { return r == id })
	}
	pick := func(ids []uint32) uint32 { return ids[rnd.IntN(len(ids))] }
	objects := func() []uint32 {
		return slices.Sorted(maps.Keys(singles))
	}
	sn := &sandboxNetlink{}
	b, cur := liveSandbox(t, sn)
	applied, dumped := 0, 0
	for step := range 2000 {
		var events []netlink.Message
		for range 1 + rnd.IntN(4) {
			switch op := rnd.IntN(7); {
			case op == 0 || len(singles) == 0: // a single object added or replaced
				id := uint32(1 + rnd.IntN(6))
				m := nhViaObject(id, uint32(100+rnd.IntN(2)), netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + rnd.IntN(3))}).String())
				singles[id] = m
				events = append(events, m)
			case op == 1: // a group added or replaced
				id, all := uint32(10+rnd.IntN(3)), objects()
				members := []uint32{pick(all)}
				if m := pick(all); m != members[0] {
					members = append(members, m)
				}
				groups[id] = members
				events = append(events, nhGroupObject(id, members...))
			case op == 2: // a single object deleted
				id := pick(objects())
				events = append(events, nhDeleted(singles[id]))
				delete(singles, id)
				dropRoutes(id)
				for _, g := range slices.Sorted(maps.Keys(groups)) {
					ms := groups[g]
					if !slices.Contains(ms, id) {
						continue
					}
					if ms = slices.DeleteFunc(slices.Clone(ms), func(m uint32) bool { return m == id }); len(ms) == 0 {
						events = append(events, nhDeleted(nhGroupObject(g, groups[g]...)))
						delete(groups, g)
						dropRoutes(g)
						continue
					}
					groups[g] = ms
					events = append(events, nhGroupObject(g, ms...))
				}
			case op == 3 && len(groups) > 0: // a group deleted
				g := pick(slices.Sorted(maps.Keys(groups)))
				events = append(events, nhDeleted(nhGroupObject(g, groups[g]...)))
				delete(groups, g)
				dropRoutes(g)
			case op <= 5: // a route added or moved to another object
				ids := append(objects(), slices.Sorted(maps.Keys(groups))...)
				dst := fmt.Sprintf("10.%d.0.0/16", 50+rnd.IntN(8))
				r := rt{dst: dst}
				if _, ok := routes[dst]; ok {
					r = r.replaced()
				}
				routes[dst] = pick(ids)
				events = append(events, nhRoute(t, r, routes[dst]))
			case len(routes) > 0: // a route deleted
				dst := slices.Sorted(maps.Keys(routes))[0]
				events = append(events, nhRoute(t, rt{dst: dst}.deleted(), routes[dst]))
				delete(routes, dst)
			}
		}
		b.receive(events, func() {})
		sn.extra = state()
		n := sn.dumps()
		var err error
		if cur, _, err = b.update(cur); err != nil {
			t.Fatal(err)
		}
		if sn.dumps() > n {
			dumped++
		} else {
			applied++
		}
		want, err := parseDump(append(readMultihomed(t), sn.extra...), cur.Taken)
		if err != nil {
			t.Fatal(err)
		}
		if !sameHost(cur, want) {
			t.Errorf("step %d: the snapshot is not the dump's", step)
			diffRoutes(t, cur.Routes, want.Routes)
			t.FailNow()
		}
	}
	t.Logf("%d batches applied, %d dumped", applied, dumped)
	if applied == 0 {
		t.Error("no batch was applied without a dump")
	}
}
