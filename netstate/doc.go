// Package netstate is getapr's view of the host: its links, the addresses it could
// use as sources, its routes and policy rules, its default gateways, and the
// kernel's own route decision for a (source, destination) pair.
//
// A [Snapshot] is the host at one moment; it is immutable once published and
// carries a Generation that grows by one with every change. A [Watcher] keeps the
// current Snapshot, tells subscribers about new ones, and answers
// [Watcher.RouteFor]. Two Watchers exist:
//
//   - [Monitor], the real one. On Linux it dumps the host through rtnetlink and
//     follows the netlink multicast groups of links, addresses, routes and rules,
//     with duplicate events dropped and a short debounce; RouteFor sends
//     RTM_GETROUTE with the source set, so it honours source-based policy routing.
//     Elsewhere it polls net.Interfaces and knows no routes.
//   - [Static], a fake whose snapshot tests set by hand; its RouteFor evaluates the
//     snapshot's own routes and rules ([Snapshot.Lookup]).
//
// [Classify] sorts addresses into the classes the pair rules need (loopback,
// link-local, ULA, GUA, RFC 1918, shared address space, global IPv4), following
// net/netip: documentation prefixes are global unicast.
//
// IPv6 link-local addresses and gateways always carry their zone, the interface
// name, so they can be bound and dialled as they are.
package netstate
