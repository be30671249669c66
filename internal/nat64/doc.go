// Package nat64 holds the address and message formats a client needs on an
// IPv6-only network with NAT64, as pure functions of their inputs (no I/O):
//
//   - RFC 6052: the IPv4-embedded IPv6 address at every prefix length (32, 40,
//     48, 56, 64 and 96 bits), in both directions ([Synthesize], [Extract]), and
//     which IPv4 destinations may be synthesized at all ([Translatable]).
//   - RFC 8781: the PREF64 option of a Router Advertisement ([ParseOption]).
//   - RFC 7050: the prefixes a DNS64 reveals in its AAAA answers for
//     ipv4only.arpa ([PrefixesFromAnswers]).
//
// netstate learns a link's PREF64 with these; pairs synthesizes destinations
// from IPv4 addresses and turns DNS64 answers back into IPv4 with them.
package nat64
