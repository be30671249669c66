// Package pairs decides which (source, destination) address pairs to try, and in
// what order, on a host with several addresses.
//
// A Selector resolves a name (AAAA and A in parallel, with the RFC 8305 Resolution
// Delay), forms candidate pairs under the prototype's rules (same family; link-local
// only with link-local on the same zone; ULA to ULA, or to global destinations when an
// NPTv6/NAT66 translator has been seen or not yet tried; RFC 1918 and 100.64/10 to
// private destinations, or to global ones when NAT44 has been seen or not yet tried;
// global to global), drops the pairs the kernel cannot route (netstate's RouteFor,
// cached until a snapshot changes the routes to the destination, the addresses, the
// links or the rules, 30 s at most) and ranks the rest:
//
//   - sources that probe knows to be dead go last, deprecated sources just before,
//     and sources that probe suspects (they failed where others worked) after
//     the sources in good standing;
//   - then the estimated latency: the pair's measured smoothed RTT, else the RTT of a
//     known pair from the same source to a nearby destination, else the prototype's
//     defaults per address class, with a bias (default 5 ms) in favour of IPv6;
//   - among a destination's pairs with a default latency, the source the kernel
//     itself would use (RouteFor without a source) gets the best of their defaults
//     and goes first: with nothing measured, the first attempt is the one a plain
//     connect would make, so a cold start is not slower than the kernel's choice
//     when that works;
//   - remaining ties are broken by the RFC 6724 source rules (1-8) and destination
//     rules (1-10) under a policy table (the RFC's default unless WithPolicyTable).
//
// The ranking is deterministic: the same snapshot, destinations and knowledge give
// the same order. Each Pair says why it ranks where it does (Pair.Reason). On top of
// it, a Selector keeps the first pair of a query first against a measured pair of
// the same tier that is not clearly faster (more than 10 ms, and under two thirds
// of its latency), so that two paths of about the same latency do not trade
// places on every sample; a dead source, or a path that got much slower, gives way
// at once.
//
// # What a Selector sends
//
// A Selector learns from the program's own connects (Report) and, unless
// WithoutProbing, from a background prober. By default the prober is quiet:
//
//   - it probes only TCP destinations the program dialed in the last five
//     minutes (the addresses of what it dialed, Attempts or Stream, and any
//     address a connect it reported went to; not those of a Get no connect
//     followed), on the dialed port, and only when the destination's family
//     has more than one candidate source (otherwise there is nothing to
//     choose);
//   - at most one connect per (source, destination) path per minute, the first
//     about two seconds after the program's first dial, and none over a path the
//     program itself used in that minute;
//   - never a TCP probe to a destination dialed over UDP, nor to one only looked
//     up (LookupNetIP);
//   - the default gateways (port 80) only once the status flags were asked for
//     (Init, Status);
//   - re-checks that bring a dead path back: a source whose link changed
//     (carrier back, a router answering again, an address or default route
//     re-added) is re-checked at once over the destinations in use; a dead
//     source is re-checked with backoff (1 s doubling to 60 s), at least every
//     10 s while the program dials if it would rank first; a path measured
//     faster earlier is re-checked every 10 s while the program dials it; a
//     default router the kernel marks FAILED gets one connect (on the port in
//     use) so that the kernel resolves it again.
//
// WithEagerProbing probes as the prototype did (the CLI's status and watch): every
// 10 s, the gateways, the probe targets and every destination asked for.
//
// # Goroutines
//
// A Selector runs goroutines only in its engine: the netstate Monitor it starts
// (unless WithWatcher), the prober's loop and workers, the sharer (WithSharing),
// and the RFC 7050 lookup of a NAT64 prefix. Suspend stops them and keeps what was
// learned (the NAT64 prefixes included); the next call that
// needs them starts them again. WithIdleStop does that after a time without use;
// the default Selector stops after DefaultIdleStop (3 minutes), and StopDefault
// stops it at once, for tests that check for leaked goroutines.
//
// A Query takes what net.Dialer takes. A destination that is one of the host's
// own addresses is paired with itself, as the kernel does. Query.Local restricts
// the sources as net.Dialer's LocalAddr does: an unspecified address only fixes the
// port; a specific one keeps the destinations of its family (after looking up
// both), and the pairs from it. When the rules leave no pair at all (unspecified,
// multicast or broadcast destinations, no known source of the family, a local
// address that is not among the sources, no route), Get returns a *NoPairError
// saying why, and Attempts returns instead the dials net.Dialer would make,
// marked Pair.Fallback, so that a dialer never has less to try than net.Dialer.
// An httptrace.ClientTrace in the context sees a name's lookup as net.Dialer
// shows it: one DNSStart and one DNSDone.
//
// Order turns a ranking into a racing order for Happy Eyeballs (RFC 8305): the best
// pair first, then the address families interleaved after the First Address Family
// Count, preferring a pair that leaves by another interface than the previous
// attempt, then one whose source differs from the previous attempt's of that
// family.
//
// Stream is Attempts for a dial whose DNS answers arrive one by one (Happy
// Eyeballs v3, draft-ietf-happy-happyeyeballs-v3): HTTPS (when asked, see
// Query.HTTPS and WithHTTPSRecords), AAAA and A are sent at once, connecting
// starts when the preferred family's answer (and the HTTPS one) is in, or the
// Resolution Delay after the first address, and the pairs of later answers
// take their place among those not yet tried, by the same rules. HTTPS
// records (RFC 9460, read by a stub resolver on resolv.conf's servers) group
// the pairs by service priority, set their port, drop endpoints whose ALPN
// set the client lacks, lend their address hints until A and AAAA arrive and
// carry ECH configs (Pair.Service); an AliasMode record's target is asked
// for its addresses, tried after the records' and before the host's own.
// For a TLS dial (Query.TLS), pairs whose path ends at a TCP-terminating
// middlebox (Pair.Middlebox, probe's verdict) and the other pairs of their
// interface are tried last.
//
// NAT64: each link may have a NAT64 prefix, from a Router Advertisement
// (netstate.Snapshot.PREF64s; when a query needs a prefix on a host without
// native IPv4 and neither DNS nor the configuration gave one, the routers of
// IPv6-only links without one are asked for an RA, once per link and then
// with backoff, and the query waits up to 1 s for it: see
// netstate.Monitor.SolicitRouters), from DNS (RFC 7050, on IPv6-only links without
// one; looked up once per network, with the Selector's resolver, at the first
// query with an IPv4 destination or a name, which waits for it only when the
// host has no native IPv4, while other queries never do; looked up again, in
// the background, when ten minutes old) or from WithPREF64 and GETAPR_PREF64. An IPv4 destination that a link with a prefix has no IPv4 route
// to is synthesized under that prefix (RFC 6052) and paired with that link's
// IPv6 sources (Pair.Synthesized), except for host-scoped addresses and for
// "tcp4" and "tcp6" (and "udp4", "udp6"): as with net.Dialer, a "tcp6" dial
// takes only a name's IPv6 addresses, and fails on an IPv4 literal.
// AAAA answers inside a known prefix are turned back into IPv4 (one server, one
// destination). Translated pairs default to 206 ms without the IPv6 bias: after
// real IPv6 and native IPv4 until measured. Status reports NAT64, PREF64 and
// its source.
//
// The package-level functions Get, Init, Status and LookupNetIP are the prototype's
// front door; they use Default, a Selector started lazily on first use, quiet, that
// also probes the targets in GETAPR_PROBE_TARGETS.
package pairs
