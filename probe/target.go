package probe

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/getapr/getapr/internal/nat64"
	"github.com/getapr/getapr/netstate"
)

// PrivateTarget is the mark that lets a probe target from the user's own
// configuration (GETAPR_PROBE_TARGETS, the command's --probe-target) be a private
// address: "private:10.0.0.1:80", "private:[fd00::1]:443". See CheckProbeTarget.
const PrivateTarget = "private:"

// Addresses that are never probe targets although their class would allow it: the
// cloud providers' instance metadata and host services, and the IETF protocol
// assignments. The link-local metadata addresses (169.254.169.254, 169.254.170.2)
// are refused with every link-local address.
var (
	metadataAddrs = []netip.Addr{
		netip.MustParseAddr("fd00:ec2::254"),   // AWS instance metadata over IPv6
		netip.MustParseAddr("fd20:ce::254"),    // Google Cloud metadata over IPv6
		netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud metadata
		netip.MustParseAddr("168.63.129.16"),   // Azure WireServer
	}
	ietf4      = netip.MustParsePrefix("192.0.0.0/24")   // IETF protocol assignments (RFC 6890)
	discard6   = netip.MustParsePrefix("100::/64")       // discard-only (RFC 6666)
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48") // local-use NAT64 prefix (RFC 8215)
	unicast6   = netip.MustParsePrefix("2000::/3")       // the IPv6 global unicast space (RFC 4291)
)

// reserved6 reports whether a, an address of class GUA, is none: outside the
// global unicast space 2000::/3 and the NAT64 prefixes 64:ff9b::/96 and
// 64:ff9b:1::/48 (the rest of ::/8, IPv4-compatible and SIIT forms included,
// 100::/64, 4000::/2, 5f00::/16, ...). netstate.Classify calls every IPv6
// address GUA that it has no other class for.
func reserved6(a netip.Addr) bool {
	return a.Is6() && !a.Is4In6() && !unicast6.Contains(a) && !nat64.WellKnownPrefix.Contains(a) && !nat64Local.Contains(a)
}

// CheckProbeTarget returns nil when the prober may connect to a: a global unicast
// address (GUA, global IPv4, documentation prefixes included: they are not routed
// on the Internet, so a probe to them stays in a test network), or with
// allowPrivate an RFC 1918, 100.64/10 or ULA address too. Never allowed, with a
// message that says why: invalid, unspecified, multicast, broadcast and reserved
// addresses, IPv4-mapped IPv6 addresses (write the IPv4 address), loopback,
// link-local (169.254/16 with the cloud metadata address, fe80::/10), the cloud
// metadata addresses outside those (fd00:ec2::254, fd20:ce::254,
// 100.100.100.200, 168.63.129.16), 192.0.0.0/24, 100::/64, IPv6 addresses
// outside 2000::/3 and the NAT64 prefixes, and a NAT64 address 64:ff9b::/96
// whose IPv4 address is not global. An address under the local-use NAT64
// prefix 64:ff9b:1::/48 (RFC 8215) counts as private, and its IPv4 address
// must be one that may be probed. A zone is refused: only link-local
// addresses have one.
func CheckProbeTarget(a netip.Addr, allowPrivate bool) error {
	switch {
	case !a.IsValid():
		return errors.New("probe target: no address")
	case a.Zone() != "" && !a.IsLinkLocalUnicast():
		return fmt.Errorf("probe target %v: a zone on an address that is not link-local", a)
	case a.Is4In6():
		return fmt.Errorf("probe target %v: an IPv4-mapped IPv6 address; write the IPv4 address %v", a, a.Unmap())
	}
	why := targetRefusal(a, allowPrivate)
	if why == "" {
		return nil
	}
	return fmt.Errorf("probe target %v: %s", a, why)
}

// metadata reports whether a is a cloud metadata address.
func metadata(a netip.Addr) bool { return slices.Contains(metadataAddrs, a.WithZone("")) }

// targetRefusal returns why a may not be a probe target, or "".
func targetRefusal(a netip.Addr, allowPrivate bool) string {
	if metadata(a) {
		return "a cloud metadata address, never probed"
	}
	c := netstate.Classify(a)
	if c == netstate.GUA && nat64Local.Contains(a) {
		// Local use, as a ULA, and its IPv4 address must be one that may
		// be probed.
		v4, ok := nat64.Extract(nat64Local, a)
		if !ok {
			return "a local-use NAT64 address (64:ff9b:1::/48) of no IPv4 address a NAT64 translates, never probed"
		}
		if why := targetRefusal(v4, allowPrivate); why != "" {
			return "a NAT64 address of " + v4.String() + ", " + why
		}
		c = netstate.ULA
	}
	switch c {
	case netstate.GUA, netstate.Global4:
		return globalRefusal(a)
	case netstate.ULA, netstate.Private4, netstate.Shared4:
		if allowPrivate {
			return ""
		}
		return fmt.Sprintf("a private address (%v); write %s%s to probe it anyway", c, PrivateTarget, "HOST:PORT")
	case netstate.Loopback:
		return "a loopback address, never probed"
	case netstate.LinkLocal6, netstate.LinkLocal4:
		return "a link-local address, never probed (the default gateways are probed anyway)"
	}
	switch {
	case a.IsUnspecified():
		return "the unspecified address, never probed"
	case a.IsMulticast():
		return "a multicast address, never probed"
	}
	return "not a unicast address (reserved or broadcast), never probed"
}

// globalRefusal returns why a global address may not be a probe target, or "".
func globalRefusal(a netip.Addr) string {
	switch {
	case ietf4.Contains(a):
		return "an IETF protocol assignment (192.0.0.0/24), never probed"
	case discard6.Contains(a):
		return "a discard-only address (100::/64), never probed"
	case reserved6(a):
		return "a reserved IPv6 address (outside 2000::/3), never probed"
	case nat64.WellKnownPrefix.Contains(a):
		b := a.As16()
		v4 := netip.AddrFrom4([4]byte(b[12:]))
		if why := targetRefusal(v4, false); why != "" {
			return "a NAT64 address of " + v4.String() + ", " + why
		}
	}
	return ""
}

// ParseProbeTarget parses one probe target as GETAPR_PROBE_TARGETS writes it: an
// IP literal and a port, "192.0.2.1:80" or "[2001:db8::1]:443", optionally marked
// with PrivateTarget to allow a private address. An IPv4-mapped IPv6 address is
// taken as its IPv4 address. The address must pass CheckProbeTarget; the port must
// not be 0.
func ParseProbeTarget(s string) (netip.AddrPort, error) {
	rest, private := strings.CutPrefix(s, PrivateTarget)
	ap, err := netip.ParseAddrPort(rest)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("probe target %q: not an IP:PORT", s)
	}
	if ap.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("probe target %q: port 0", s)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if err := CheckProbeTarget(ap.Addr(), private); err != nil {
		return netip.AddrPort{}, err
	}
	return ap, nil
}
