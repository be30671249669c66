package nat64

import (
	"errors"
	"fmt"
	"net/netip"
)

// WellKnownPrefix is the NAT64 Well-Known Prefix of RFC 6052, 64:ff9b::/96.
// RFC 6052 section 3.1 forbids it for non-global IPv4 addresses.
var WellKnownPrefix = netip.MustParsePrefix("64:ff9b::/96")

// lengths are the prefix lengths RFC 6052 section 2.2 allows, longest first.
var lengths = [...]int{96, 64, 56, 48, 40, 32}

// ValidLength reports whether bits is a prefix length of RFC 6052: 32, 40, 48,
// 56, 64 or 96.
func ValidLength(bits int) bool {
	for _, n := range lengths {
		if n == bits {
			return true
		}
	}
	return false
}

// ErrPrefix is returned by CheckPrefix (and wrapped by Synthesize's callers)
// for a prefix that cannot embed IPv4 addresses.
var ErrPrefix = errors.New("not a NAT64 prefix")

// CheckPrefix returns nil if p can be a PREF64: an IPv6 unicast prefix
// (neither link-local, multicast, loopback nor under ::/96 or ::ffff:0:0/96)
// of an RFC 6052 length whose host bits are zero and, for a /96, whose bits 64
// to 71 (the "u" octet, RFC 6052 section 2.2) are zero.
func CheckPrefix(p netip.Prefix) error {
	switch {
	case !p.IsValid() || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "":
		return fmt.Errorf("%w: %v is not an IPv6 prefix", ErrPrefix, p)
	case !p.Addr().IsGlobalUnicast():
		return fmt.Errorf("%w: %v is not a unicast prefix a translator can have", ErrPrefix, p)
	case !ValidLength(p.Bits()):
		return fmt.Errorf("%w: %v: length %d is none of 32, 40, 48, 56, 64, 96", ErrPrefix, p, p.Bits())
	case p.Masked() != p:
		return fmt.Errorf("%w: %v has bits set after its length", ErrPrefix, p)
	case p.Addr().As16()[8] != 0:
		return fmt.Errorf("%w: %v: bits 64 to 71 must be zero", ErrPrefix, p)
	}
	return nil
}

// positions returns, for prefix length bits, the indexes of the four bytes of
// the address that hold the IPv4 address (RFC 6052 section 2.2: the embedded
// address skips byte 8, bits 64 to 71).
func positions(bits int) [4]int {
	var pos [4]int
	i := bits / 8
	for k := range pos {
		if i == 8 {
			i++
		}
		pos[k] = i
		i++
	}
	return pos
}

// Synthesize returns the IPv4-embedded IPv6 address of v4 under prefix p (RFC
// 6052 section 2.2): the prefix, the IPv4 address around the zero u octet and a
// zero suffix. It reports false if p fails CheckPrefix, if v4 is not an IPv4
// address that may be translated (Translatable), or if p is the Well-Known
// Prefix and v4 is not global (RFC 6052 section 3.1).
func Synthesize(p netip.Prefix, v4 netip.Addr) (netip.Addr, bool) {
	v4 = v4.Unmap()
	if CheckPrefix(p) != nil || !Translatable(v4) {
		return netip.Addr{}, false
	}
	if p == WellKnownPrefix && !globalIPv4(v4) {
		return netip.Addr{}, false
	}
	a := p.Addr().As16()
	b := v4.As4()
	for k, i := range positions(p.Bits()) {
		a[i] = b[k]
	}
	return netip.AddrFrom16(a), true
}

// Extract returns the IPv4 address embedded in v6 under prefix p, the inverse
// of Synthesize. It reports false if p fails CheckPrefix, if v6 is not inside
// p, if v6's u octet (bits 64 to 71) is not zero, or if the embedded address is
// one Synthesize would never produce. The suffix after the embedded address is
// ignored, as RFC 6052 section 2.2 asks of a receiver.
func Extract(p netip.Prefix, v6 netip.Addr) (netip.Addr, bool) {
	if CheckPrefix(p) != nil || !v6.Is6() || v6.Is4In6() || !p.Contains(v6.WithZone("")) {
		return netip.Addr{}, false
	}
	v4, ok := extractAny(p, v6)
	if !ok || !Translatable(v4) || (p == WellKnownPrefix && !globalIPv4(v4)) {
		return netip.Addr{}, false
	}
	return v4, true
}

// neverTranslated are the IPv4 blocks no NAT64 path can reach: host-scoped
// ("this network" 0/8, loopback 127/8, link-local 169.254/16, the limited
// broadcast 255.255.255.255, all inside 240/4), multicast and the reserved
// 240/4.
var neverTranslated = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// Translatable reports whether a connection to the IPv4 address v4 may go
// through a NAT64: v4 is IPv4 (or IPv4-mapped) and not in 0/8, 127/8,
// 169.254/16, multicast 224/4 or 240/4 (which holds 255.255.255.255).
func Translatable(v4 netip.Addr) bool {
	v4 = v4.Unmap()
	if !v4.Is4() {
		return false
	}
	for _, p := range neverTranslated {
		if p.Contains(v4) {
			return false
		}
	}
	return true
}

// nonGlobal are the IPv4 blocks of RFC 5735 section 3 (and RFC 6598) that are
// not global, which RFC 6052 section 3.1 keeps out of the Well-Known Prefix;
// neverTranslated holds the rest of that list.
var nonGlobal = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.88.99.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
}

// globalIPv4 reports whether a translatable v4 is global in the sense of RFC
// 6052 section 3.1.
func globalIPv4(v4 netip.Addr) bool {
	for _, p := range nonGlobal {
		if p.Contains(v4) {
			return false
		}
	}
	return true
}
