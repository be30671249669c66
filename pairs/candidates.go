package pairs

import (
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// The prototype's default latencies, used when nothing has been measured for a pair
// or for a nearby destination from the same source.
const (
	defaultGUA        = 200 * time.Millisecond // IPv6 global to global
	defaultULA        = 199 * time.Millisecond // ULA to ULA
	defaultNPTv6      = 201 * time.Millisecond // ULA to global, through NPTv6/NAT66
	defaultIPv4       = 205 * time.Millisecond // any IPv4 pair but link-local
	defaultLinkLocal6 = 1 * time.Millisecond   // IPv6 link-local
	defaultLinkLocal4 = 2 * time.Millisecond   // IPv4 link-local
	defaultLoopback   = 0                      // loopback to loopback
	defaultNAT64      = 206 * time.Millisecond // IPv6 to an IPv4 destination through a NAT64
)

// defaultLatency returns the default latency of a pair of classes and the words
// that say so in Pair.Reason. The classes must form a candidate pair.
func defaultLatency(src, dst netstate.Class) (time.Duration, string) {
	switch {
	case src == netstate.Loopback:
		return defaultLoopback, "loopback"
	case src == netstate.LinkLocal6:
		return defaultLinkLocal6, "default ipv6 link-local 1ms"
	case src == netstate.LinkLocal4:
		return defaultLinkLocal4, "default ipv4 link-local 2ms"
	case src == netstate.ULA && dst == netstate.ULA:
		return defaultULA, "default ula 199ms"
	case src == netstate.ULA:
		return defaultNPTv6, "default ula via nptv6 201ms"
	case src.Is6():
		return defaultGUA, "default ipv6 gua 200ms"
	}
	return defaultIPv4, "default ipv4 205ms"
}

// defaultLatency is the default latency of a pair from a source of class src
// to d, and the words that say so: defaultNAT64 for a destination synthesized
// under a NAT64 prefix (an IPv4 path behind a translator, after native IPv4),
// else the classes' default.
func (d *dest) defaultLatency(src netstate.Class) (time.Duration, string) {
	if d.synth.IsValid() {
		return defaultNAT64, "default nat64 206ms"
	}
	return defaultLatency(src, d.class)
}

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
