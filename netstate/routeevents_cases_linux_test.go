package netstate

import (
	"os"
	"testing"

	"github.com/getapr/getapr/internal/isolate"
)

// routeEventCases are the scenarios of TestRouteEventCasesLive, by name: ip
// commands after each of which the Monitor's snapshot must equal a dump.
// Each ends with an unrelated route change, which before route events were
// applied (bedff91) made the Monitor dump the host and so repaired any
// divergence; applied as an event, it leaves the divergence in place until
// something other than a route changes.
var routeEventCases = map[string][]string{
	// dedup keys an IPv6 multipath route by all its next hops. Deleting one
	// next hop sends a RTM_DELROUTE of that hop alone (another key), so the
	// key of the whole route stays "seen"; appending the hop again sends the
	// very message seen before, and dedup drops it. Consequence: the
	// snapshot lacks the next hop for good (every later route change is
	// applied to the stale routes).
	"multipath-reappend": {
		"-6 route add 2001:db8:1::/48 via fe80::1 dev v0",
		"-6 route append 2001:db8:1::/48 via fe80::2 dev v1",
		"-6 route del 2001:db8:1::/48 via fe80::2 dev v1",
		"-6 route append 2001:db8:1::/48 via fe80::2 dev v1",
		"route add 10.99.0.0/16 via 192.0.2.1",
	},
	// A route of a type the Snapshot leaves out (local, in the main table)
	// and an appended unicast route share a key; the kernel's replace then
	// replaces the first of them (the local one), but the event is applied
	// as replacing the unicast route the snapshot holds. Consequence: a
	// kernel route is missing from the snapshot.
	"local-then-append": {
		"route add local 10.7.0.0/16 dev lo table main",
		"route append 10.7.0.0/16 via 192.0.2.1",
		"route replace 10.7.0.0/16 via 192.0.2.2",
		"route add 10.99.0.0/16 via 192.0.2.1",
	},
	// Deleting a nexthop object removes the IPv4 routes using it without any
	// RTM_DELROUTE (fib_flush), and the Monitor does not follow
	// RTNLGRP_NEXTHOP. Consequence: the routes stay in the snapshot for
	// good.
	"nexthop-del": {
		"nexthop add id 7 via 192.0.2.1 dev v0",
		"route add 10.8.0.0/16 nhid 7",
		"nexthop del id 7",
		"route add 10.99.0.0/16 via 192.0.2.1",
	},
}

// TestRouteEventCasesLive runs each of routeEventCases in a namespace of its own.
func TestRouteEventCasesLive(t *testing.T) {
	for name := range routeEventCases {
		t.Run(name, func(t *testing.T) {
			t.Setenv("ROUTE_EVENT_CASE", name)
			isolate.Run(t, "^TestRouteEventCasesLiveChild$", isolate.Options{NewNetNS: true, Commands: routeChangeHost})
		})
	}
}

func TestRouteEventCasesLiveChild(t *testing.T) {
	if o := isolate.Current(); !o.NewNetNS || o.NoNetlink {
		t.Skip("only in the child of TestRouteEventCasesLive")
	}
	followKernel(t, routeEventCases[os.Getenv("ROUTE_EVENT_CASE")])
}
