// Package lab builds the project's network lab: seven network namespaces on the
// real Linux kernel that model a multi-homed client behind two ISPs, and the
// controls that break it in the ways getapr must survive.
//
//	client ─veth─ relaya ─veth─ ispa ─┐
//	client ─veth─ relayb ─veth─ ispb ─┴─ core ── server
//
// The controls (see the Lab methods) set an uplink's delay, black-hole it, cut
// its carrier (and heal it, flushing the neighbour caches or keeping a FAILED
// router entry), switch ingress filtering, policy routing, families and
// translators, add and remove client addresses, and move an uplink's link to
// another network (another router and prefix) and back.
//
// Every namespace is named "gapr-<Name>-<role>" and nothing links to the
// machine's real interfaces. ISP A (uplink 0, the kernel's preferred default
// route) gives the client a GUA, a ULA translated by NPTv6 and an RFC 1918
// address behind NAT44; ISP B (uplink 1) gives a GUA and a public IPv4. Both ISPs
// filter foreign sources (BCP 38). The relay namespaces hold a user-space layer-2
// relay that delays every frame by half the uplink's round-trip time in each
// direction (there is no tc netem on these machines). The server namespace runs a
// peer-echo TCP server that tells a client the address it sees, an HTTPS server
// (HTTP/2, ECH) with a certificate from a test CA made at bring-up (Lab.RootCAs),
// and addresses that refuse (RST) and drop; a small DNS server on 127.0.0.53 in
// the client namespace serves names with several A and AAAA records, a slow AAAA,
// a missing AAAA, and HTTPS records (alias, priorities, port, ALPN, hints, ECH).
// Either ISP can become a TCP-terminating middlebox for port 443 (Lab.Middlebox).
//
// Tests use it from TestMain, behind the build tag "lab":
//
//	func TestMain(m *testing.M) { os.Exit(lab.Main(m, lab.Options{})) }
//
//	func TestSomething(t *testing.T) {
//		l := lab.Current(t) // skips when there is no lab
//		...
//	}
//
// As root, Main brings up a fresh lab, runs the test binary again inside the
// client namespace and tears the lab down when it exits. The relays, servers and
// DNS run in the process that brought the lab up (the parent of the tests, or the
// gaprlab daemon); a lab in another process is driven through a unix socket under
// /run/getapr-lab/<Name>/, so the controls work the same from anywhere.
//
// The address plan (documentation prefixes for "global" space):
//
//	uplink 0 (ISP A, eth0)   GUA 2001:db8:a:1::100/64, ULA fd00:a::100/64 (NPTv6 to
//	                         2001:db8:a:f::/64), IPv4 10.1.0.100/24 (NAT44 to 198.51.100.1),
//	                         router fe80::a, 2001:db8:a:1::1, 10.1.0.1
//	uplink 1 (ISP B, eth1)   GUA 2001:db8:b:1::100/64, IPv4 203.0.113.100/25,
//	                         router fe80::b, 2001:db8:b:1::1, 203.0.113.1
//	server                   open 2001:db8:5::10 and 192.0.2.10, refuse ::11 and .11,
//	                         drop ::12 and .12; peer-echo on port 80, HTTPS on 443
//	                         and 8443
//	DNS                      127.0.0.53:53 in the client namespace, zone getapr.test
//	                         (and ipv4only.arpa), DNS64 on request
//	NAT64 (off by default)   ISP B translates 2001:db8:6464::/96 with tayga (pool
//	                         192.168.255.0/24, masqueraded to 203.0.113.129); uplink 1
//	                         has no IPv4 while it is on; ISP routers send RAs with a
//	                         PREF64 option on request
package lab
