// Package svcb reads SVCB and HTTPS resource records (RFC 9460) and turns the
// answers of one connection setup into the endpoints to race, grouped and
// ordered as Happy Eyeballs v3 says (draft-ietf-happy-happyeyeballs-v3,
// "Grouping By Service Priority", "Handling Application Layer Protocol
// Negotiation", "DNS Answer Changes During Happy Eyeballs Connection Setup").
//
// It does no I/O: Parse reads one record's data as
// golang.org/x/net/dns/dnsmessage delivers it, and Answers collects the HTTPS
// records and the A and AAAA answers of the names they point at, in any order,
// and says at each moment which endpoints there are and whether enough has
// arrived to start connecting.
package svcb
