// Package probe is what getapr has learned about the paths out of this host.
//
// A [Store] keeps, for every (source, destination) address pair, the smoothed
// round-trip time and its variation (RFC 6298, alpha = 1/8, beta = 1/4) with success
// and failure counts; for every source address its [Health]; and the prototype's
// status flags, NAT44 and NPTv6 detection among them ([Status], [Translators]). It
// is fed by two streams of [Outcome]s passed to [Store.Report]: the application's
// own connects (the dialer's, passive and free) and the [Prober]'s. A connect that
// was refused proves the path as well as one that succeeded ([Result.PathWorks]).
// [Store.Observe] applies a change of the host at once (netstate.ChangeDelta says
// what changed): sources on a link that went down are dead, sources whose
// default router (netstate.Snapshot.RouterOf) the kernel's neighbour cache marks
// FAILED are suspect until a path beyond their link proves them, and
// the sources of a link where something came back (carrier, a default route, an
// address, a router answering again) are re-checked at once.
//
// # Round-trip times
//
// Each sample updates the estimate as RFC 6298 says, except that a run of
// samples far from it (more than 4·RTTVAR and half of SRTT above it, three in a
// row; or a third below, two in a row) means the path changed: the estimate
// restarts at the latest sample. A path that got five times slower is known
// after three connects, a lone outlier moves the estimate by an eighth.
//
// # Memory per network
//
// What is learned of a source (its pairs and health) belongs to the network its
// address is on: its link's default router (address and link-layer address) and
// its prefix ([netstate.Network]). When an address leaves that network (it is
// removed, or its link's router changes), its memory is set aside; when the host
// comes back, it is restored, so the first dial ranks by measured values. The
// Store keeps the memory of a bounded number of networks ([WithMaxNetworks]),
// the least recently left going first. When the last source that needs a
// translator (RFC 1918 or 100.64/10 for NAT44, ULA for NPTv6) leaves, its family's
// translator flags go back to "not tried" (and come back with it). A failure
// through a translator says the translator is absent only when another source on
// the same link reached a destination beyond it meanwhile; when the link comes
// back, an absent translator is tried again.
//
// # Source health
//
// A source starts Unknown and is Alive after its first working path. A timeout or an
// unreachable error from a source counts against it only when the source is to
// blame: another source reaches the same or a nearby destination (one sharing the
// first 32 bits of an IPv6 or 20 bits of an IPv4 address), or the source reaches
// nothing at all while another source of its family does. The first such failure
// makes it Suspect, the second (WithDeadAfter) Dead. Dead sources are re-checked with
// exponential backoff, 1 s doubling to 60 s ([Store.Recheck]), but only while
// nothing changes: a change on the source's link re-checks it at once, and while
// the application dials, a dead source that would rank first if it worked is
// re-checked at least every 10 s (RecheckBusy), as is a path measured faster
// earlier than it is now. One working path revives a source, except that
// reaching an on-link destination (the gateway) does not revive a source that
// failed beyond its link.
//
// # Prober
//
// A [Prober] connects in the background to the default gateways, the configured
// targets, the destinations the application asked for ([Prober.Want]) and,
// optionally, RIPE Atlas anchors ([AtlasConfig]), from every candidate source. Its
// rate is bounded: a round every Interval (10 s) with ±10% jitter when nothing
// changes, early rounds on a network change or a new destination but never more
// than one a second, a bounded number of connects in flight, and one connect per
// path per round.
//
// A quiet Prober (ProberConfig.Quiet, what a pairs.Selector uses unless told
// otherwise) sends only what the application's own traffic calls for: for a TCP
// destination dialed in the last 5 minutes that has more than one candidate
// source, one connect per other path, on the dialed port, 2 s after the first
// dial, then at most one per path a minute, and none over a path the application
// itself used in that minute; the default gateways only once the status was asked
// for ([Prober.WantStatus]); the re-checks above (over the destinations in use,
// and, while one is in use or once the status was asked for, to a FAILED
// router on the port in use, which makes the kernel solicit it).
//
// Paths wait in a queue served by at most Concurrency workers, which exist only
// while there is work: the destinations the application asked for and the
// re-checks take turns with the rest, and the rest may hold at most half of the
// workers, so that an asked-for destination never waits behind a stuck gateway.
// A Prober runs at most Concurrency + 2 goroutines (its loop, the workers, and the
// Atlas refresher when enabled).
//
// # Sharing
//
// What was learned can be shared with the user's other processes through one file
// ([Store.Share], [Sharer]): mode 0600, never through a symbolic link, replaced by
// rename, merged under a lock, entries older than an hour dropped, link-local pairs
// never written. The file is data from another process: it must be a regular file
// in a directory only its owner can write; it is read entry by entry (at most
// 10,000, at most 64 KiB each, the file at most 8 MiB), every value checked
// (address kinds and families, ranges, no date ahead of now), and an import never
// evicts what this process measured itself. Waiters for the lock are served in
// turn; a merge gives up when one holder keeps the lock five seconds.
//
// # Probe targets
//
// Targets from the configuration and from the Atlas API must be global unicast
// addresses ([CheckProbeTarget]); the user's own configuration may allow private
// ones with the mark [PrivateTarget] ([ParseProbeTarget]). Loopback, link-local,
// multicast, unspecified and cloud metadata addresses are never probed. The
// Atlas client follows redirects only to the same host over https and keeps at
// most 4,096 anchors.
package probe
