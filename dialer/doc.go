// Package dialer provides PairDialer, a drop-in replacement for net.Dialer on
// hosts with several addresses: it connects over (source, destination) address
// pairs ranked by package pairs, racing them Happy Eyeballs style, so that a
// connection succeeds when the kernel's own choice of source would hang or fail.
//
// # Use
//
// Anything that takes a net.Dialer's DialContext takes a PairDialer's:
//
//	d := &dialer.PairDialer{Timeout: 30 * time.Second}
//	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
//
// For gRPC, grpc.WithContextDialer wraps a func(ctx, addr) that calls
// d.DialContext(ctx, "tcp", addr); use a "passthrough:///host:port" target so
// the dialer, not gRPC, resolves the name. The module
// github.com/getapr/getapr/examples has it as a runnable program and example
// (examples/grpc), kept apart so that this module does not require gRPC.
// PairDialer also satisfies golang.org/x/net/proxy.ContextDialer.
//
// # Racing
//
// For TCP, DialContext asks its Selector for the pairs of the destination
// (pairs.Selector.Stream: names resolved, pairs formed and ranked, in racing
// order with families and sources interleaved; pairs of DNS answers that
// arrive after the race has started join it in their place) and runs the connection attempt
// algorithm of RFC 8305 section 5 over them: the first attempt starts at once,
// the next one when the attempt delay has passed since the previous start, or at
// once when an attempt fails; the first connection established wins, the other
// attempts are canceled and any connection that completes late is closed.
// DialContext returns when the other attempts have ended, which a canceled
// connect does at once, so that their outcomes count for the next dial; it
// leaves no goroutine and no socket behind. The exception is an attempt
// inside the caller's Control or ControlContext hook, which may not return
// soon: as net.Dialer, DialContext then returns the winner without waiting,
// and the attempt ends, and is reported, by itself.
//
// The attempt delay is AttemptDelay when set (at least 10 ms). Otherwise it is
// 250 ms, or, when the round-trip time of the pair just started has been
// measured, the retransmission timeout derived from it (SRTT + 4·RTTVAR, RFC
// 6298) clamped to [100 ms, 2 s], the bounds RFC 8305 section 5 recommends. A
// negative AttemptDelay tries one pair at a time, each with an equal share of
// the time left, as net.Dialer does with addresses.
//
// At most 16 attempts run at once. When 16 do and the next is due, the oldest
// still connecting (the oldest of all when every one is in its TLS handshake)
// is given up, once it has run 2 s (net.Dialer's floor for an address's share
// of the time), and the next starts when it has ended. A dial to a name with
// hundreds of addresses that drop SYNs thus holds 16 sockets at most, not one
// per address until the kernel gives up on each (about 127 s on Linux), and
// still reaches the later addresses; a slow path that works has 2 s to
// answer. An attempt given up is reported as superseded, as an attempt
// canceled because another won is, and its error in the dial's error is a
// timeout.
//
// Each attempt binds its pair's source address (with its zone when link-local)
// and LocalAddr's port if set, applies Control or ControlContext and the
// keep-alive settings, and connects to the pair's destination. The outcome of
// every attempt (success, refused, timeout, unreachable, canceled, with its
// duration and the kernel's RTT estimate of a connection) is reported to the
// Selector, which learns from it which sources work (loopback attempts of a
// plain connect excepted: there is nothing to learn of them). An attempt
// canceled unanswered because another won is reported as superseded, with how
// long it waited: probe counts it as a timeout when that is longer than a
// working path would have taken to answer (the pair's retransmission timeout,
// or TCP's initial 1 s without a measurement), and the next dial ranks its
// source after the others while the prober checks it.
//
// Each attempt is a net.Dialer dial of one address, over the caller's network,
// from the source it binds: its error, and what an httptrace.ClientTrace sees
// of it (ConnectStart and ConnectDone, network "tcp" when the caller said
// "tcp"), are net.Dialer's. A dial that made one attempt returns that
// attempt's error unchanged (OpError.Source set only when a source was bound).
// When several attempts failed, the error is a *net.OpError naming the first
// pair, whose Err is an *AttemptsError that lists each attempt (pair,
// duration, error; its text the first 8 only, the others counted by reason),
// unwraps to each attempt's error, and answers Timeout and
// Temporary as net.Dialer's error would. A name's lookup shows as one DNSStart
// and one DNSDone, and the resolver's own sockets not at all, as with
// net.Dialer.
//
// FallbackDelay keeps net.Dialer's meaning for the family interleave: when
// positive, the first attempt of the other address family starts when it has
// passed (earlier only if every attempt before it failed, later only if a
// connect has completed); when negative, the pairs of the first family are
// all tried before the other's. SetMultipathTCP applies to every
// attempt.
//
// # TLS: Happy Eyeballs v3
//
// DialTLSContext races until the TLS handshake is done, as the Happy Eyeballs
// v3 draft says a TLS client should: a path whose TCP handshake completes at a
// TCP-terminating middlebox (a captive portal, a broken proxy) does not win. An
// attempt whose connect completed has its handshake's expected time (twice the
// connect, or its measured RTO, within [100 ms, 2 s]) before the next attempt
// starts, counted from when the handshake begins: with ECH, an attempt whose
// handshake waits for the HTTPS answer holds the next one (it would wait for
// the same answer). A failed handshake frees its turn at once. What the
// handshake proved goes to probe: TLSSuccess, or Middlebox for no answer, a
// reset or an answer that is not TLS (also for a handshake still waiting well
// past its time when another attempt won), which makes later TLS dials try that
// pair, and its interface's other sources, last. Certificate errors, ECH
// rejections and alerts are the peer's TLS answer: they count against no path,
// and when every attempt ends so, that error is returned as tls.Dialer would.
// The host's HTTPS records are asked for too (their port, priorities, ALPN,
// hints and, with ECH, their ech configuration). The returned net.Conn is a
// *tls.Conn: with TLSConfig's NextProtos set to h2 and http/1.1, an
// http.Transport's DialTLSContext gets HTTP/2.
//
// # Drop-in
//
// PairDialer accepts what net.Dialer accepts. An empty host (":80") is dialed
// by net.Dialer. When the Selector finds no pair for any destination of the
// address (unspecified addresses, which mean the local system; multicast and
// broadcast; a LocalAddr outside the host's sources, such as a loopback alias;
// a host whose sources are unknown or have no route), it returns the dials
// net.Dialer would make (pairs.Pair.Fallback): the kernel chooses the source,
// or LocalAddr is bound, and the dial succeeds or fails as net.Dialer's. The
// README lists the intended differences; a comparison harness in this
// package's tests checks them. One of them: when such a dial goes to an IPv4
// destination that the host has no IPv4 route to and no NAT64 prefix for
// (pairs.Pair.NoNAT64), its error says so after the kernel's ("connect:
// network is unreachable (no IPv4 route, and no NAT64 prefix (PREF64) to
// reach it over IPv6)"), and still unwraps to the kernel's.
//
// # IPv6-only networks with NAT64
//
// Where a link has a NAT64 prefix (from a Router Advertisement, RFC 8781;
// from DNS, RFC 7050; or configured), the Selector pairs IPv4 destinations that
// the link has no IPv4 route to with the link's IPv6 sources and the IPv4
// address synthesized under the prefix (pairs.Pair.Synthesized): an IPv4
// literal or a name with only A records is reached through the NAT64, where
// net.Dialer fails.
//
// # Egress interface and SO_BINDTODEVICE
//
// On a host without source-based policy routing, the kernel sends a connection
// bound to the address of one uplink by the main table's default route, which
// may leave through the other uplink, whose ISP then drops it for its foreign
// source (BCP 38 ingress filtering). pairs marks such pairs EgressMismatch, and
// by default (BindAuto) PairDialer also binds their sockets to the source's
// interface with SO_BINDTODEVICE, so that they leave the way their source
// belongs. Linux allows that without privilege since 5.7, for a socket not
// already bound to a device; before 5.7, and to change an existing binding, it
// needs CAP_NET_RAW. Where it is refused, or on systems other than Linux,
// PairDialer binds the source address alone, for the rest of that dial.
// BindToDevice selects another policy.
//
// # UDP
//
// A UDP connect sends no packet, so there is no handshake to race: for "udp",
// "udp4" and "udp6" DialContext connects the socket of the best pair that the
// kernel accepts (a route exists from its source) and returns it. No outcome
// is reported for UDP.
//
// # Other networks
//
// "unix", "ip4:icmp" and any other network (and DialIP, DialUnix) are dialed by
// a net.Dialer with the same fields: behaviour and errors are net.Dialer's.
package dialer
