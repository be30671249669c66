package netstate

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// TestApplyRouteEvents checks the route events applied to a snapshot against
// the kernel's dump after them: a rebuild that applies them builds the routes
// that dump would show, and one that cannot dumps the host.
func TestApplyRouteEvents(t *testing.T) {
	tests := []struct {
		name   string
		before []rt // the routes of the dump the events are applied to
		events []rt
		after  []rt // the routes a dump shows after them; nil when the rebuild must dump
	}{
		{name: "add", events: []rt{routeA}, after: []rt{routeA}},
		{name: "delete", before: []rt{routeA}, events: []rt{routeA.deleted()}, after: []rt{}},
		{name: "replace the gateway", before: []rt{routeA}, events: []rt{routeA2.replaced()}, after: []rt{routeA2}},
		{name: "replace multipath by one hop", before: []rt{routeECMP},
			events: []rt{{dst: "10.2.0.0/16", gw: "192.0.2.1", oif: 100, replace: true}},
			after:  []rt{{dst: "10.2.0.0/16", gw: "192.0.2.1", oif: 100}}},
		{name: "delete multipath", before: []rt{routeECMP, routeA}, events: []rt{routeECMP.deleted()}, after: []rt{routeA}},
		{name: "replace as create", events: []rt{routeA.replaced()}, after: []rt{routeA}},
		{name: "event the dump already showed", before: []rt{routeA}, events: []rt{routeA}, after: []rt{routeA}},
		{name: "added and deleted before the dump", events: []rt{routeA, routeA.deleted()}, after: []rt{}},
		{name: "deleted and added back before the dump", before: []rt{routeA}, events: []rt{routeA.deleted(), routeA}, after: []rt{routeA}},
		{name: "replaced before the dump", before: []rt{routeA2}, events: []rt{routeA2.replaced()}, after: []rt{routeA2}},
		{name: "another metric is another route", before: []rt{routeA}, events: []rt{routeA100}, after: []rt{routeA, routeA100}},
		{name: "IPv6 next hop added", before: []rt{route6}, events: []rt{route6M}, after: []rt{route6M}},
		{name: "IPv6 next hop deleted", before: []rt{route6M}, events: []rt{route6.deleted()}, after: []rt{route6B}},
		{name: "IPv6 multipath replaced", before: []rt{route6M}, events: []rt{route6B.replaced()}, after: []rt{route6B}},
		{name: "IPv6 other source prefix", before: []rt{{dst: "2001:db8:2::/48", gw: "fe80::1", oif: 100, from: "2001:db8:a::/64"}},
			events: []rt{{dst: "2001:db8:2::/48", gw: "fe80::2", oif: 101, from: "2001:db8:b::/64", replace: true}},
			after: []rt{{dst: "2001:db8:2::/48", gw: "fe80::1", oif: 100, from: "2001:db8:a::/64"},
				{dst: "2001:db8:2::/48", gw: "fe80::2", oif: 101, from: "2001:db8:b::/64"}}},
		{name: "router preference", before: []rt{route6.withPref(3)}, events: []rt{route6.withPref(1)}, after: []rt{route6.withPref(1)}},
		{name: "reject route", events: []rt{{dst: "10.3.0.0/16", typ: unix.RTN_BLACKHOLE}}, after: []rt{{dst: "10.3.0.0/16", typ: unix.RTN_BLACKHOLE}}},
		{name: "table no rule selects", events: []rt{{dst: "10.4.0.0/16", gw: "192.0.2.1", oif: 100, table: 77}}, after: []rt{}},
		{name: "policy table", events: []rt{{dst: "10.4.0.0/16", gw: "198.51.100.1", oif: 101, table: 101}},
			after: []rt{{dst: "10.4.0.0/16", gw: "198.51.100.1", oif: 101, table: 101}}},
		// What the model cannot tell: dump.
		{name: "appended", before: []rt{routeA}, events: []rt{routeA2}},
		{name: "replace of one of two", before: []rt{routeA, routeA2}, events: []rt{{dst: "10.1.0.0/16", gw: "192.0.2.3", oif: 100, replace: true}}},
		{name: "default route", events: []rt{{dst: "0.0.0.0/0", gw: "192.0.2.2", oif: 100, prio: 50}}},
		{name: "TOS", events: []rt{{dst: "10.5.0.0/16", gw: "192.0.2.1", oif: 100, tos: 8}}},
		{name: "TOS dumped", before: []rt{{dst: "10.1.0.0/16", gw: "192.0.2.1", oif: 100, tos: 8}}, events: []rt{routeA.replaced()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sn := &sandboxNetlink{extra: msgs(t, tt.before...)}
			b, cur := liveSandbox(t, sn)
			for _, m := range msgs(t, tt.events...) {
				b.events.add(m)
			}
			dumps := sn.dumps()
			got, _, err := b.update(cur)
			if err != nil {
				t.Fatal(err)
			}
			dumped := sn.dumps() > dumps
			if tt.after == nil {
				if !dumped {
					t.Errorf("applied the events (routes %v); want a dump", got.Routes)
				}
				return
			}
			if dumped {
				t.Fatal("dumped the host; want the events applied")
			}
			want, err := parseDump(append(readMultihomed(t), msgs(t, tt.after...)...), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want.Routes, got.Routes, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("routes (-dump +applied):\n%s", diff)
			}
			if slices.Equal(got.Routes, cur.Routes) && len(cur.Routes) > 0 && &got.Routes[0] != &cur.Routes[0] {
				t.Error("the routes were copied although nothing changed")
			}
		})
	}
}
