package main

import (
	"net/netip"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// A scenario breaks the lab in one way; the methods then dial through it.
type scenario struct {
	// key names the scenario on the command line (-scenarios).
	key string
	// name is the table's row label; setup says what was done to the lab.
	name, setup string
	// best is the uplink of the best pair that still works: its RTT is the
	// physical limit.
	best int
	// targets says that the cold and warm targets apply.
	targets bool
	// tls makes every method's dial end with a TLS handshake to the lab's
	// HTTPS server (port 443); the limit is then twice the RTT: the TCP
	// handshake and a TLS 1.3 handshake.
	tls bool
	// apply breaks the lab (after a Restore).
	apply func(l *lab.Lab) error
	// failing returns the sources that cannot work in this scenario: the warm
	// Selector is measured once it knows every one of them dead.
	failing func(l *lab.Lab) []netip.Addr
	// host returns what is dialed, when not the lab server's name.
	host func(l *lab.Lab) string
	// announce, when set, runs right after the warm Selector starts (an RA
	// that a running process receives); the warm Selector is measured once its
	// Status shows pref64.
	announce func(l *lab.Lab) error
	pref64   func(l *lab.Lab) netip.Prefix
}

// scenarios returns every scenario, in the order they run.
func scenarios() []scenario {
	return []scenario{
		{
			key: "healthy", name: "healthy", best: 0,
			setup: "both uplinks work (source-based policy routing, BCP 38 at both ISPs, NAT44 and NPTv6 at ISP A).",
			apply: func(*lab.Lab) error { return nil },
		},
		{
			key: "blackhole", name: "uplink 0 blackholed", best: 1, targets: true,
			setup: "ISP A (uplink 0, the kernel's preferred default route) silently drops every packet from and to the client " +
				"(`Blackhole(0, true)`); only uplink 1's sources work.",
			apply:   func(l *lab.Lab) error { return l.Blackhole(0, true) },
			failing: uplinkSources(0),
		},
		{
			key: "cut", name: "uplink 0 cut", best: 1,
			setup:   "the client's link to ISP A has lost its carrier (`Cut(0, true)`: the far end is down); only uplink 1's sources work.",
			apply:   func(l *lab.Lab) error { return l.Cut(0, true) },
			failing: uplinkSources(0),
		},
		{
			key: "nopolicy", name: "no policy routing, BCP 38", best: 1,
			setup: "no source-based policy routing on the client (`PolicyRouting(false)`: every packet takes the main table's " +
				"default route, uplink 0), BCP 38 ingress filtering at both ISPs, and uplink 0 blackholed: the only way out is " +
				"an uplink 1 source sent out of uplink 1's interface (SO_BINDTODEVICE).",
			apply: func(l *lab.Lab) error {
				return steps(func() error { return l.PolicyRouting(false) },
					func() error { return l.IngressFilter(0, true) },
					func() error { return l.IngressFilter(1, true) },
					func() error { return l.Blackhole(0, true) })
			},
			failing: uplinkSources(0),
		},
		{
			key: "middlebox", name: "TLS, uplink 0 a TCP-terminating middlebox", best: 1, targets: true, tls: true,
			setup: "ISP A (uplink 0) completes every TCP handshake to port 443 itself and never answers the ClientHello " +
				"(`Middlebox(0, MiddleboxSilent)`): TCP works over both uplinks, TLS only over uplink 1. Every method dials " +
				"the server's name on port 443 and counts as connected when its TLS handshake is done.",
			apply: func(l *lab.Lab) error { return l.Middlebox(0, lab.MiddleboxSilent) },
		},
		{
			key: "nat44", name: "IPv4 only, behind NAT44", best: 0,
			setup: "an IPv4-only client (`Families(true, false)`) whose uplink 1 is blackholed: its public IPv4 source " +
				"is dead, only the RFC 1918 source behind ISP A's NAT44 works.",
			apply: func(l *lab.Lab) error {
				return steps(func() error { return l.Families(true, false) }, func() error { return l.Blackhole(1, true) })
			},
			failing: func(l *lab.Lab) []netip.Addr { return []netip.Addr{l.Uplink(1).IPv4} },
		},
		{
			key: "nptv6", name: "IPv6 ULA only, behind NPTv6", best: 0,
			setup: "an IPv6-only client (`Families(false, true)`) without uplink 0's GUA (`RemoveClientAddr`) and with " +
				"uplink 1 blackholed: only the ULA behind ISP A's NPTv6 works; uplink 1's GUA stays, dead.",
			apply: func(l *lab.Lab) error {
				gua := netip.PrefixFrom(l.Uplink(0).GUA, 64)
				return steps(func() error { return l.Families(false, true) },
					func() error { return l.RemoveClientAddr(0, gua) },
					func() error { return l.Blackhole(1, true) })
			},
			failing: func(l *lab.Lab) []netip.Addr { return []netip.Addr{l.Uplink(1).GUA} },
		},
		nat64Scenario("nat64-ra-literal", "IPv6 only + NAT64 (RA), IPv4 literal", "the server's IPv4 literal",
			func(l *lab.Lab) string { return l.Server().Open4.String() }, false),
		nat64Scenario("nat64-ra-aonly", "IPv6 only + NAT64 (RA), A-only name", "a name with only an A record (no DNS64)",
			func(l *lab.Lab) string { return l.Server().NoAAAAName }, false),
		nat64Scenario("nat64-dns-literal", "IPv6 only + NAT64 (DNS64), IPv4 literal", "the server's IPv4 literal",
			func(l *lab.Lab) string { return l.Server().Open4.String() }, true),
	}
}

// nat64Scenario is an IPv6-only client (Families(false, true)) whose uplink 1
// has a NAT64 (tayga at ISP B, NAT64(true)); the NAT64 prefix comes from an RA
// that arrives after the warm Selector started, or (dns) from the lab DNS in
// DNS64 mode (ipv4only.arpa, RFC 7050) with no RA at all. Only the NAT64 path
// reaches what is dialed.
func nat64Scenario(key, name, what string, host func(*lab.Lab) string, dns bool) scenario {
	sc := scenario{
		key: key, name: name, best: 1, targets: true, host: host,
		failing: func(l *lab.Lab) []netip.Addr { return nil },
		pref64:  func(l *lab.Lab) netip.Prefix { return l.NAT64Facts().Prefix },
	}
	if dns {
		sc.setup = "an IPv6-only client (`Families(false, true)`) whose uplink 1 is behind a NAT64 (`NAT64(true)`: tayga " +
			"at ISP B, 2001:db8:6464::/96) and whose DNS is a DNS64 (`DNS64(true)`), with no RA: the prefix comes from " +
			"ipv4only.arpa (RFC 7050) at the first dial that needs it. Dialed: " + what + "."
		sc.apply = func(l *lab.Lab) error {
			return steps(func() error { return l.Families(false, true) }, func() error { return l.NAT64(true) },
				func() error { return l.DNS64(true) })
		}
		return sc
	}
	sc.setup = "an IPv6-only client (`Families(false, true)`) whose uplink 1 is behind a NAT64 (`NAT64(true)`: tayga " +
		"at ISP B, 2001:db8:6464::/96), which ISP B's router advertises in a Router Advertisement with a PREF64 " +
		"option (`AdvertisePREF64`) when the scenario starts, and again (its next RA) after the warm Selector " +
		"started; no DNS64. Dialed: " + what + ". A cold Selector starts between the two RAs and cannot read the " +
		"first back from the kernel: its dial asks the routers (a Router Solicitation, which the lab's routers " +
		"answer at once with what they advertise)."
	sc.apply = func(l *lab.Lab) error {
		n := l.NAT64Facts()
		return steps(func() error { return l.Families(false, true) }, func() error { return l.NAT64(true) },
			func() error { return l.AdvertisePREF64(n.Uplink, n.Prefix, 30*time.Minute) })
	}
	sc.announce = func(l *lab.Lab) error {
		n := l.NAT64Facts()
		return l.AdvertisePREF64(n.Uplink, n.Prefix, 30*time.Minute)
	}
	return sc
}

// uplinkSources returns the client's sources on uplink i.
func uplinkSources(i int) func(l *lab.Lab) []netip.Addr {
	return func(l *lab.Lab) []netip.Addr {
		u := l.Uplink(i)
		var out []netip.Addr
		for _, a := range []netip.Addr{u.GUA, u.ULA, u.IPv4} {
			if a.IsValid() {
				out = append(out, a)
			}
		}
		return out
	}
}

// steps runs fns in order and stops at the first error.
func steps(fns ...func() error) error {
	for _, f := range fns {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}
