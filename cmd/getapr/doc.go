// Command getapr shows what the getapr library decides on this host: the ranked
// (source, destination) pairs for a destination, the detected connectivity, and a
// connect raced over the pairs with its attempt timeline.
//
// Usage:
//
//	getapr pairs HOST[:PORT] [PORT] ranked pairs for HOST (PORT 443)
//	getapr lookup HOST [-4|-6]      HOST's addresses ordered by their best pair
//	getapr status                   flags (GUA_ok ... NAT44_tried), gateways, sources
//	getapr dial HOST:PORT           race a connect; print the attempt timeline
//	        [--stdlib] [--attempt-delay D] [--tls] [-4|-6]
//	getapr watch [HOST[:PORT] ...]  live view of changes until Ctrl-C; a measured
//	        [--interval D]          pair ends with a sparkline of its latest RTTs
//	getapr version                  module version, Go version, VCS revision
//
// Common flags, accepted before or after the arguments (version takes --json only):
//
//	--json               JSON output with stable field names
//	--probe-target H:P   also probe HOST:PORT (repeatable): global addresses only;
//	                     private:H:P allows RFC 1918, 100.64/10 and ULA ones
//	                     (loopback, link-local, multicast, metadata: never)
//	--no-probe           no background probing
//	--share[=PATH]       share what was learned with other processes (default file:
//	                     getapr/pairs.json in the user's cache directory); the
//	                     PATH only after '=': after a bare --share, a word that
//	                     can only be a path (with a '/' or ending in .json) is
//	                     a usage error, any other is the next argument; a
//	                     PATH sharing refuses (a special file, a symbolic link, a
//	                     directory others can write to) is a usage error, and a
//	                     failed last merge is a warning on stderr
//	--timeout D          limit for each network operation (default 5s)
//	--wait               wait for the first probe round before answering (up
//	                     to --timeout, but at least a probe's own timeout, 5s,
//	                     and a second; not with --no-probe)
//	--log-level L        library logs at zap level L on stderr (default off)
//	--pref64 P[%IF]      NAT64 prefix for links that learn none from RAs or DNS
//	                     (repeatable; default $GETAPR_PREF64, comma-separated)
//
// Every command prints its usage with -h. While it waits, getapr shows a spinner on
// stderr when stderr is a terminal.
//
// Exit codes: 0 success; 1 network failure (the dial failed, a timeout, no usable
// pair); 2 bad input (unknown command, bad flag, bad host or port, unknown name),
// reported as one line on stderr (getapr without a command prints its usage).
// dial takes any IP literal that net.Dialer takes (0.0.0.0 dials this host; a
// multicast address fails at connect, exit 1), where pairs and watch refuse
// hosts that cannot be a unicast destination. In JSON, tls, error, old, new,
// next_check, router, expires, revision and time are left out when false or
// empty.
//
// JSON field names:
//
//	pairs:   host, port, pairs[]{rank, family, src, interface, dst, port, src_class,
//	         dst_class, latency_ms, rttvar_ms, basis, health, deprecated,
//	         egress_mismatch, synthesized, middlebox, reason}
//	lookup:  host, network, addrs[]
//	status:  GUA_ok, ULA_ok, LLA_ok, IPv4_ok, ULA_present, RFC1918, NPTv6,
//	         NPTv6_tried, NAT44, NAT44_tried, def_gateway4, def_gateway6, NAT64,
//	         PREF64 (prefix or null), PREF64_source (ra, dns, config or null),
//	         nat64_links[]{interface, prefix, source, router, expires},
//	         sources[]{addr, interface, class, health, since, failures, next_check},
//	         middleboxes[]{src, dst, since}, changed
//	dial:    address, network, dialer, tls, ok, total_ms, attempts[]{start_ms, src,
//	         interface, dst, outcome, duration_ms, error}, winner{attempt, local,
//	         remote}, error
//	watch:   one object a line: time, change (added, changed, removed), key, old, new
//	version: module, version, go, revision, time, modified
package main
