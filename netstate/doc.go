// Package netstate is getapr's view of the host: its links, the addresses it could
// use as sources, its routes and policy rules, its default gateways, and the
// kernel's own route decision for a (source, destination) pair.
//
// A [Snapshot] is the host at one moment; it is immutable once published and
// carries a Generation that grows by one with every change. A [Watcher] keeps the
// current Snapshot, tells subscribers about new ones, and answers
// [Watcher.RouteFor]. Two Watchers exist:
//
//   - [Monitor], the real one (see below).
//   - [Static], a fake whose snapshot tests set by hand; its RouteFor evaluates the
//     snapshot's own routes and rules ([Snapshot.Lookup]), or a function the test
//     supplies.
//
// [Classify] sorts addresses into the classes the pair rules need (loopback,
// link-local, ULA, GUA, RFC 1918, shared address space, global IPv4), following
// net/netip: documentation prefixes are global unicast.
//
// [Changes] returns the [ChangeDelta] between two snapshots: the one place that
// answers what a change means (is it a change at all, does it matter to probing,
// which links got something back: carrier, an address, a default route, a router
// that answers again). [Snapshot.KernelDown], [Snapshot.OnLink] and
// [Snapshot.NetworkOf] answer the related questions about one snapshot; a
// [Network] (a link's default router and an address's prefix) is what a host
// returning to a known network finds again.
//
// # Default routers
//
// Snapshot.Neighbors holds the kernel's neighbour-cache entry of every default
// router (reachable, stale, failed...), not of the host's other neighbours. Linux
// refuses an IPv6 default route whose router is FAILED ("No route to host") until
// it probes the router again, up to a minute later; a packet sent to the router
// itself makes it solicit the router at once.
//
// # Addresses and zones
//
// Snapshot.Addrs holds every address except those on loopback interfaces, in
// every kernel state; [Snapshot.Sources] keeps the ones a socket can bind now:
// not tentative, not DAD-failed, not loopback or otherwise [NotSource], on a link
// that is administratively up. Deprecated and temporary addresses are sources
// (they rank lower). IPv6 link-local addresses, and IPv6 link-local gateways in
// Routes and Gateway6, always carry their zone, so they can be bound and dialled
// as they are: the interface name, or its index in decimal where the Monitor
// reads the host without rtnetlink (see below), since the standard library then
// cannot turn names into indexes.
//
// # Linux
//
// New dumps links, addresses, policy rules, nexthop objects, routes and
// neighbours through rtnetlink and joins the multicast groups of links,
// IPv4/IPv6 addresses, routes, rules, nexthop objects and neighbours. Events
// that repeat the last known state of the same object (or concern the local
// table, cached routes, or neighbours that are not default routers) are
// dropped; the rest wake a debounced rebuild (see [WithDebounce]): the first
// change after a quiet period is published within a few milliseconds, a burst
// costs at most one rebuild per debounce interval, and a rebuild that finds
// nothing changed publishes nothing. When only routes changed, or nexthop
// objects that no route uses (a router's FRR creates them ahead of its
// routes), the rebuild applies their events to the current snapshot instead of
// dumping the host again (a router's table of 100,000 routes costs a dump of
// hundreds of milliseconds). A lost event (socket overrun) forces a rebuild from a dump. If
// the kernel refuses the group subscription, or the event socket fails, the
// Monitor logs it and polls instead ([WithPollInterval]). A route that uses a
// nexthop object ("ip route add default nhid 20", as FRR installs routes) has
// the object's next hops, or its group's members', also where the kernel shows
// only the object's id (nexthop_compat_mode 0); a kernel before 5.3, which has
// no such objects, refuses their dump, and is read as before. Routes are those
// of the main table and of every table a lookup rule selects; rules that need
// more than the addresses to match (oif, uid, ports...) are kept as RuleOther,
// not evaluated (their tables' routes are not read; RouteFor asks the kernel,
// which applies them), and firewall-mark and iif rules are read for a plain
// socket's traffic: mark 0, in by lo (wg-quick's "not fwmark M lookup T"
// selects T for all).
//
// Where rtnetlink is refused (a seccomp filter, or systemd's
// RestrictAddressFamilies without AF_NETLINK, makes socket(AF_NETLINK) fail),
// New logs one warning and reads the host without it, polling: the interfaces
// from /proc/net/dev (else /sys/class/net) and ioctls, IPv4 addresses by
// SIOCGIFCONF, IPv6 addresses with their flags from /proc/net/if_inet6; what
// cannot be read (no /proc) is left out. Such snapshots have no routes, rules
// or gateways, and RouteFor works as on other systems (below). The standard
// library's net.Interfaces cannot help there: on Linux it asks rtnetlink too.
//
// The Monitor also joins RTNLGRP_ND_USEROPT, where the kernel hands over the
// Router Advertisement options it does not process itself: a PREF64 option
// (RFC 8781) becomes its link's NAT64 prefix in Snapshot.PREF64s for the
// option's lifetime (a withdrawal, lifetime 0, removes it at once; an expiry
// causes a rebuild; a refresh alone publishes nothing). Such options cannot be
// dumped: a Monitor learns of a prefix from the first RA after it started,
// or from the Monitor it replaces (WithPREF64s).
//
// Monitor.RouteFor sends RTM_GETROUTE with RTA_DST, RTA_SRC when a source is
// given, and RTA_OIF for a zoned link-local address, so it honours source-based
// policy routing ("ip rule from ... lookup ..."). Kernel errors map to
// [RouteError] kinds: ENETUNREACH is NoRoute, EHOSTUNREACH or an unreachable
// route is UnreachableErr, EACCES or a prohibit route is ProhibitedErr, EINVAL or
// a blackhole route is BlackholeErr. The kernel does not check the source itself,
// so RouteFor does: a source that is not a configured address (checked against
// the snapshot, then with the kernel for addresses newer than it), or is
// tentative or DAD-failed, or of the other family, or on another zone, is
// BadSource.
//
// # Other systems
//
// New polls net.Interfaces (default every 5 s): links and addresses, without
// flags (lifetimes are Forever) and without routes, rules or gateways.
// RouteFor connects a UDP socket, bound to the source when one is given, to
// the destination: a datagram connect sends nothing, but makes the system's
// own route lookup, so the answer is the system's: its choice of source, or
// its refusal with the errno mapped as above (a source it will not bind is
// BadSource). The egress interface is not learned this way: Decision names the
// source's interface (the zone's, for a zoned destination) and no gateway.
// WithNetNS is an error there.
package netstate
