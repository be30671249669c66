// Package probe is what getapr has learned about the paths out of this host.
//
// A [Store] keeps, for every (source, destination) address pair, the smoothed
// round-trip time and its variation (RFC 6298, alpha = 1/8, beta = 1/4) with success
// and failure counts; for every source address its [Health]; and the prototype's
// status flags, NAT44 and NPTv6 detection among them ([Status], [Translators]). It
// is fed by two streams of [Outcome]s passed to [Store.Report]: the application's
// own connects (the dialer's, passive and free) and the [Prober]'s. A connect that
// was refused proves the path as well as one that succeeded ([Result.PathWorks]).
// [Store.Observe] applies a change of the host at once: removed addresses lose their
// pairs, sources on a link that went down are dead, a substantial change of the
// network drops measured history and makes the translators be detected again.
//
// # Source health
//
// A source starts Unknown and is Alive after its first working path. A timeout or an
// unreachable error from a source counts against it only when the source is to
// blame: another source reaches the same or a nearby destination (one sharing the
// first 32 bits of an IPv6 or 20 bits of an IPv4 address), or the source reaches
// nothing at all while another source of its family does. The first such failure
// makes it Suspect, the second (WithDeadAfter) Dead. Dead sources are re-checked with
// exponential backoff, 1 s doubling to 60 s ([Store.Recheck]); one working path
// revives a source, except that reaching an on-link destination (the gateway) does
// not revive a source that failed beyond its link.
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
