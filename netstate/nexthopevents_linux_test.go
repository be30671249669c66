package netstate

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TestRouteEventOfNexthopObject: a route event that shows a nexthop object's
// id alone (nexthop_compat_mode 0) is applied with the object's next hops, as
// the last dump showed the object, without reading the host again; a route
// moved to another object counts as a change; a route of an object the last
// dump lacks makes the rebuild dump the host.
func TestRouteEventOfNexthopObject(t *testing.T) {
	ip := netip.MustParseAddr
	objects := []netlink.Message{
		nhMessage(nhMsg(unix.AF_INET, nla{unix.NHA_ID, u32(7)}, nla{unix.NHA_OIF, u32(100)}, nla{unix.NHA_GATEWAY, ip("192.0.2.1").AsSlice()})),
		nhMessage(nhMsg(unix.AF_INET, nla{unix.NHA_ID, u32(8)}, nla{unix.NHA_OIF, u32(101)}, nla{unix.NHA_GATEWAY, ip("198.51.100.1").AsSlice()})),
		nhMessage(nhMsg(0, nla{unix.NHA_ID, u32(9)}, nla{unix.NHA_GROUP, nhGroupOf(7, 8)})),
	}
	m, sn := newRouteMonitor(t, objects)
	dst := netip.MustParsePrefix("10.40.0.0/16")
	route := rt{dst: dst.String()}
	nhid := func(r rt, id uint32) netlink.Message { return withRouteAttr(r.msg(t), rtaNHID, u32(id)) }
	hop := func(gw string, index int) Route {
		return Route{Dst: dst, Gateway: ip(gw), Index: index, Table: mainTable}
	}
	for _, step := range []struct {
		what     string
		event    netlink.Message
		wantDump bool
		want     []Route
	}{
		{"added, of group 9", nhid(route, 9), false, []Route{hop("192.0.2.1", 100), hop("198.51.100.1", 101)}},
		{"moved to object 7", nhid(route.replaced(), 7), false, []Route{hop("192.0.2.1", 100)}},
		{"moved to object 8", nhid(route.replaced(), 8), false, []Route{hop("198.51.100.1", 101)}},
		{"moved back to object 7", nhid(route.replaced(), 7), false, []Route{hop("192.0.2.1", 100)}},
		{"deleted", nhid(route.deleted(), 7), false, nil},
		{"added, of an object not dumped", nhid(route, 42), true, nil},
	} {
		n := sn.dumps()
		sn.send(step.event)
		if err := m.rebuild(); err != nil {
			t.Fatal(err)
		}
		if dumped := sn.dumps() - n; dumped > 0 != step.wantDump {
			t.Errorf("route %s: %d dumps; want a dump: %v", step.what, dumped, step.wantDump)
		}
		var got []Route
		for _, r := range m.Snapshot().Routes {
			if r.Dst == dst {
				got = append(got, r)
			}
		}
		if !slices.Equal(got, step.want) {
			t.Errorf("route %s: routes to %v %+v, want %+v", step.what, dst, got, step.want)
		}
	}
}
