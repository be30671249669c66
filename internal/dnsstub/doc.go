// Package dnsstub is a small stub resolver for the records the system's
// resolver does not look up: SVCB and HTTPS (RFC 9460). It reads
// resolv.conf(5) (nameservers, search, domain, and the options ndots,
// timeout, attempts, rotate and use-vc), asks the servers in order over UDP
// with EDNS0, again over TCP when a reply is truncated, and follows CNAME and
// AliasMode chains. The records themselves are read by package svcb.
//
// It has no cache and no /etc/hosts: a caller keeps asking the system's
// resolver (net.Resolver) for A and AAAA, and asks this one only for what that
// one cannot give. Client.Dial takes a net.Resolver's Dial function, so that
// a caller's custom resolver transport is used for these queries too.
package dnsstub
