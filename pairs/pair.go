package pairs

import (
	"net"
	"net/netip"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// Basis says where a pair's latency estimate comes from.
type Basis uint8

// Latency bases, from worst to best knowledge. (The default basis is named Assumed,
// not Default: Default is the process-wide Selector.)
const (
	Assumed   Basis = iota // the prototype's default for the pair's classes
	Inherited              // measured for a nearby destination from the same source
	Measured               // measured for this very pair
)

var basisNames = [...]string{"default", "inherited", "measured"}

func (b Basis) String() string {
	if int(b) < len(basisNames) {
		return basisNames[b]
	}
	return "basis(?)"
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (b Basis) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// Pair is one (source, destination) address pair to bind and connect, with what the
// ranking knew about it. A link-local Src or Dst carries its zone. Src's port is 0
// unless the caller fixed one through LocalAddr.
type Pair struct {
	Src, Dst netip.AddrPort
	// Interface is the name of the interface that owns Src.
	Interface string
	// Latency is the estimated round-trip time; RTTVar its variation when measured.
	Latency, RTTVar time.Duration
	// Synthesized is, for a pair through a NAT64, the IPv4 destination that Dst
	// stands for: Dst is that address synthesized (RFC 6052) under the NAT64
	// prefix of Interface's link, because that link has no IPv4 route to it, or
	// a DNS64's answer under that prefix. It is invalid for other pairs.
	Synthesized netip.Addr
	// Service is what the host's HTTPS record says of Dst (Query.HTTPS); nil
	// when no record covers it.
	Service *Service
	// Reason says in a few words why the pair ranks where it does.
	Reason string
	// SrcClass and DstClass are the classes of the two addresses.
	SrcClass, DstClass netstate.Class
	// Basis says whether Latency was measured, inherited or a default.
	Basis Basis
	// Health is the source's health as probe knows it.
	Health probe.Health
	// Deprecated is set when Src is deprecated (its preferred lifetime is over,
	// or it is still in optimistic duplicate address detection, RFC 4429).
	Deprecated bool
	// EgressMismatch is set when the kernel's route for the pair leaves by an
	// interface other than Interface (no source-based policy routing on the host).
	EgressMismatch bool
	// Fallback is set on the pairs Selector.Attempts returns when the rules
	// left no pair at all: the dial net.Dialer would make to Dst. Src is then
	// the caller's local address, or the unspecified address of Dst's family
	// (with the local port, if any) for "let the kernel choose at connect
	// time"; Interface is empty and nothing was checked or measured.
	Fallback bool
	// Middlebox is set when a TLS handshake over the pair last failed after its
	// TCP handshake had completed, less than probe.MiddleboxHold ago
	// (probe.PairStats.Intercepted): something on the path terminates TCP. A
	// query for a TLS dial (Query.TLS) tries such pairs after the others of
	// their group; plain TCP dials rank them as any other.
	Middlebox bool
	// NoNAT64 is set on a Fallback pair to an IPv4 destination that the host
	// has no IPv4 route to and no NAT64 prefix (PREF64) to synthesize an IPv6
	// address under: the dial fails as net.Dialer's would, and the dialer's
	// error says why.
	NoNAT64 bool
}

// Service is what an HTTPS record (RFC 9460) says of a pair's destination.
type Service struct {
	// Priority is the record's SvcPriority: the pairs of a lower one are all
	// tried before those of a higher one.
	Priority uint16
	// Target is the record's effective target, the name Dst is an address of.
	Target string
	// ALPN is the record's ALPN set: its alpn ids, and http/1.1 unless it says
	// no-default-alpn.
	ALPN []string
	// ECH is the record's ECHConfigList; nil without one.
	ECH []byte
	// Hint is set when Dst is one of the record's address hints, used because
	// the target's A or AAAA answer had not arrived.
	Hint bool
}

// RTO returns the pair's retransmission timeout as probe derives it from a
// measured RTT (probe.RTO of Latency and RTTVar), or probe.InitialRTO when
// Latency was not measured for this very pair.
func (p Pair) RTO() time.Duration {
	if p.Basis != Measured {
		return probe.InitialRTO
	}
	return probe.RTO(p.Latency, p.RTTVar)
}

// Is6 reports whether the pair is IPv6.
func (p Pair) Is6() bool { return p.Dst.Addr().Is6() }

// RacesAs6 reports whether the pair counts as IPv6 when attempts interleave the
// families (Order, a dialer's Fast Fallback): an IPv6 destination that does
// not stand for an IPv4 one through a NAT64 (HEv3 lists synthesized addresses
// as A answers).
func (p *Pair) RacesAs6() bool { return p.Is6() && !p.Synthesized.IsValid() }

// Network returns base ("tcp", "udp") with the pair's family digit: "tcp6", "udp4".
func (p Pair) Network(base string) string {
	if p.Is6() {
		return base + "6"
	}
	return base + "4"
}

// Path returns the pair as a probe.Path.
func (p Pair) Path() probe.Path { return probe.Path{Src: p.Src, Dst: p.Dst} }

// LocalAddr returns Src as a *net.TCPAddr or *net.UDPAddr for network ("tcp" or
// "udp" with or without a family digit).
func (p Pair) LocalAddr(network string) net.Addr { return sockAddr(network, p.Src) }

// RemoteAddr returns Dst as a *net.TCPAddr or *net.UDPAddr for network.
func (p Pair) RemoteAddr(network string) net.Addr { return sockAddr(network, p.Dst) }

func sockAddr(network string, ap netip.AddrPort) net.Addr {
	if len(network) >= 3 && network[:3] == "udp" {
		return net.UDPAddrFromAddrPort(ap)
	}
	return net.TCPAddrFromAddrPort(ap)
}
