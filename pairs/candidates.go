package pairs

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// defaultKind names a default latency: the prototype's, used when nothing has been
// measured for a pair or for a nearby destination from the same source.
type defaultKind uint8

// The default latencies by the classes of a pair (see defaultOf).
const (
	defaultLoopback   defaultKind = iota // loopback to loopback
	defaultLinkLocal6                    // IPv6 link-local
	defaultLinkLocal4                    // IPv4 link-local
	defaultULA                           // ULA to ULA
	defaultNPTv6                         // ULA to global, through NPTv6/NAT66
	defaultGUA                           // IPv6 global to global
	defaultIPv4                          // any IPv4 pair but link-local
	defaultNAT64                         // IPv6 to an IPv4 destination through a NAT64
	defaultTunnel                        // IPv6 from or to a 6to4 or Teredo address
)

// defaultLatencies holds each kind's latency and its name in a Pair.Reason.
var defaultLatencies = [...]struct {
	name    string
	latency time.Duration
}{
	defaultLoopback:   {"loopback", 0},
	defaultLinkLocal6: {"ipv6 link-local", 1 * time.Millisecond},
	defaultLinkLocal4: {"ipv4 link-local", 2 * time.Millisecond},
	defaultULA:        {"ula", 199 * time.Millisecond},
	defaultNPTv6:      {"ula via nptv6", 201 * time.Millisecond},
	defaultGUA:        {"ipv6 gua", 200 * time.Millisecond},
	defaultIPv4:       {"ipv4", 205 * time.Millisecond},
	defaultNAT64:      {"nat64", 206 * time.Millisecond},
	// After native IPv4 even with the IPv6 bias, as RFC 6724's precedences
	// put 6to4 (30) and Teredo (5) after IPv4 (35): relays far away.
	defaultTunnel: {"ipv6 6to4/teredo", 250 * time.Millisecond},
}

// defaultWords are the words of a Reason that say a pair's latency is its kind's
// default, made from defaultLatencies: "default ipv6 gua 200ms", or "loopback".
var defaultWords = func() (w [len(defaultLatencies)]string) {
	for k, d := range defaultLatencies {
		w[k] = "default " + d.name + " " + strconv.FormatInt(d.latency.Milliseconds(), 10) + "ms"
	}
	w[defaultLoopback] = defaultLatencies[defaultLoopback].name
	return w
}()

// defaultOf returns the kind of default latency of a pair of classes. The classes
// must form a candidate pair.
func defaultOf(src, dst netstate.Class) defaultKind {
	switch {
	case src == netstate.Loopback:
		return defaultLoopback
	case src == netstate.LinkLocal6:
		return defaultLinkLocal6
	case src == netstate.LinkLocal4:
		return defaultLinkLocal4
	case src == netstate.ULA && dst == netstate.ULA:
		return defaultULA
	case src == netstate.ULA:
		return defaultNPTv6
	case src.Is6():
		return defaultGUA
	}
	return defaultIPv4
}

// defaultFor returns the kind of default latency of a pair from src to d:
// defaultNAT64 for a destination synthesized under a NAT64 prefix (an IPv4
// path behind a translator, after native IPv4), defaultTunnel for a pair to a
// global IPv6 destination with a 6to4 or Teredo end, else the classes' default.
func (d *dest) defaultFor(src *source) defaultKind {
	k := defaultOf(src.class, d.class)
	switch {
	case d.synth.IsValid():
		k = defaultNAT64
	case (k == defaultGUA || k == defaultNPTv6) && (tunneled(src.addr.IP) || tunneled(d.attr.ip)):
		k = defaultTunnel
	}
	return k
}

// The prefixes of addresses relayed over IPv4: 6to4 (RFC 3056) and Teredo
// (RFC 4380).
var (
	prefix6to4   = netip.MustParsePrefix("2002::/16")
	prefixTeredo = netip.MustParsePrefix("2001::/32")
)

// tunneled reports whether ip is a 6to4 or Teredo address.
func tunneled(ip netip.Addr) bool { return prefix6to4.Contains(ip) || prefixTeredo.Contains(ip) }

// isPrivate4 reports whether c is an IPv4 class that needs NAT44 to reach global
// destinations.
func isPrivate4(c netstate.Class) bool { return c == netstate.Private4 || c == netstate.Shared4 }

// allowed applies the prototype's pairing rules to the classes of a source and a
// destination. When ok is false, why says which rule forbids the pair. Zones
// of link-local addresses are the caller's concern.
func allowed(src, dst netstate.Class, tr probe.Translators) (ok bool, why string) {
	if src.Is6() != dst.Is6() || src == netstate.NotSource || dst == netstate.NotSource {
		return false, "families differ"
	}
	switch dst {
	case netstate.Loopback:
		return src == netstate.Loopback, "loopback only from loopback"
	case netstate.LinkLocal6, netstate.LinkLocal4:
		return src == dst, "link-local only from link-local"
	case netstate.ULA:
		return src == netstate.ULA, "ula only from ula"
	case netstate.GUA:
		if src == netstate.ULA {
			return tr.NPTv6 || !tr.NPTv6Tried, "ula to global needs nptv6, tried and not seen"
		}
		return src == netstate.GUA, "global ipv6 only from global or ula"
	case netstate.Private4, netstate.Shared4:
		return isPrivate4(src), "private ipv4 only from private ipv4"
	case netstate.Global4:
		if isPrivate4(src) {
			return tr.NAT44 || !tr.NAT44Tried, "private to global ipv4 needs nat44, tried and not seen"
		}
		return src == netstate.Global4, "global ipv4 only from global or private ipv4"
	}
	return false, "not a unicast destination"
}
