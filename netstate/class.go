package netstate

import "net/netip"

// Class is the kind of an address, as far as choosing a source is concerned.
type Class uint8

// The address classes. The zero value, NotSource, is an address that can never be
// the source of a connection.
const (
	NotSource  Class = iota // multicast, unspecified, IPv4-mapped, invalid
	Loopback                // 127/8, ::1
	LinkLocal6              // fe80::/10
	ULA                     // fc00::/7 (RFC 4193)
	GUA                     // any other IPv6 unicast, documentation prefixes included
	LinkLocal4              // 169.254/16 (RFC 3927)
	Private4                // 10/8, 172.16/12, 192.168/16 (RFC 1918)
	Shared4                 // 100.64/10 (RFC 6598, carrier-grade NAT)
	Global4                 // any other IPv4 unicast, documentation prefixes included
)

var classNames = [...]string{
	NotSource:  "not-a-source",
	Loopback:   "loopback",
	LinkLocal6: "link-local6",
	ULA:        "ula",
	GUA:        "gua",
	LinkLocal4: "link-local4",
	Private4:   "rfc1918",
	Shared4:    "shared4",
	Global4:    "global4",
}

// String returns a short lower-case name such as "ula" or "rfc1918".
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "class(?)"
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Is6 reports whether the class is an IPv6 class.
func (c Class) Is6() bool { return c == LinkLocal6 || c == ULA || c == GUA }

// Is4 reports whether the class is an IPv4 class.
func (c Class) Is4() bool { return c >= LinkLocal4 && c <= Global4 }

// LinkLocal reports whether the class is IPv6 or IPv4 link-local.
func (c Class) LinkLocal() bool { return c == LinkLocal6 || c == LinkLocal4 }

// Translated reports whether a source of this class needs a translator (NAT44 for
// RFC 1918 and shared space, NPTv6/NAT66 for ULA) to reach a global destination.
func (c Class) Translated() bool { return c == ULA || c == Private4 || c == Shared4 }

// Global reports whether the class is globally routable (GUA or global IPv4).
func (c Class) Global() bool { return c == GUA || c == Global4 }

var (
	ula4193  = netip.MustParsePrefix("fc00::/7")
	rfc6598  = netip.MustParsePrefix("100.64.0.0/10")
	lla3927  = netip.MustParsePrefix("169.254.0.0/16")
	loopback = netip.MustParsePrefix("127.0.0.0/8")
	zeroNet  = netip.MustParsePrefix("0.0.0.0/8")   // "this network" (RFC 1122)
	reserved = netip.MustParsePrefix("240.0.0.0/4") // class E and broadcast (RFC 1112)
)

// Classify returns the class of ip. It follows net/netip: documentation prefixes
// (2001:db8::/32, 192.0.2/24, 198.51.100/24, 203.0.113/24) are global unicast. A zone
// does not change the class. IPv4-mapped IPv6 addresses are NotSource: a socket
// source is either IPv4 or IPv6.
func Classify(ip netip.Addr) Class {
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsMulticast(), ip.Is4In6():
		return NotSource
	case ip.IsLoopback():
		return Loopback
	case ip.Is6():
		switch {
		case ip.IsLinkLocalUnicast():
			return LinkLocal6
		case ula4193.Contains(ip.WithZone("")):
			return ULA
		case ip.IsGlobalUnicast():
			return GUA
		}
		return NotSource
	}
	switch {
	case zeroNet.Contains(ip), reserved.Contains(ip):
		return NotSource
	case loopback.Contains(ip):
		return Loopback
	case lla3927.Contains(ip):
		return LinkLocal4
	case ip.IsPrivate():
		return Private4
	case rfc6598.Contains(ip):
		return Shared4
	case ip.IsGlobalUnicast():
		return Global4
	}
	return NotSource // 0/8, 240/4, broadcast
}
