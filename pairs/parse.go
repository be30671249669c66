package pairs

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// family is the set of address families a query allows.
type family struct{ v4, v6 bool }

func (f family) allows(ip netip.Addr) bool { return (ip.Is4() && f.v4) || (ip.Is6() && f.v6) }

// parseNetwork splits a network name into its base ("tcp", "udp" or "ip") and the
// families its digit allows. The empty network is "tcp".
func parseNetwork(network string) (base string, f family, err error) {
	if network == "" {
		network = "tcp"
	}
	switch network {
	case "tcp", "udp", "ip":
		return network, family{true, true}, nil
	case "tcp4", "udp4", "ip4":
		return network[:len(network)-1], family{v4: true}, nil
	case "tcp6", "udp6", "ip6":
		return network[:len(network)-1], family{v6: true}, nil
	}
	return "", family{}, net.UnknownNetworkError(network)
}

// parseHost parses the host of a query: an IP literal (IPv6 possibly with a zone,
// without brackets) or a name. For a literal it returns the address, unmapped from
// IPv4-mapped IPv6, and with the zone kept only on a link-local address; anything
// else is a name, for the resolver to find or not, as net.Dialer leaves it: the
// hosts file may know names that are no DNS names ("db+1"), and a text that is
// almost a literal ("127.0.0.1%lo") is a name no resolver finds.
func parseHost(host string) (ip netip.Addr, name string, err error) {
	switch {
	case host == "":
		return netip.Addr{}, "", &net.AddrError{Err: "missing host", Addr: host}
	case strings.HasPrefix(host, "[") || strings.HasSuffix(host, "]"):
		return netip.Addr{}, "", &net.AddrError{Err: "host must not have brackets", Addr: host}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return normalizeLiteral(ip), "", nil
	}
	return netip.Addr{}, host, nil
}

// normalizeLiteral unmaps an IPv4-mapped address and drops a zone where the
// kernel ignores it: it is kept on link-local unicast, and on link-local and
// interface-local multicast addresses ("[ff02::fb%eth0]:5353").
func normalizeLiteral(ip netip.Addr) netip.Addr {
	if ip.Is4In6() {
		return ip.Unmap()
	}
	if !ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() && !ip.IsInterfaceLocalMulticast() {
		return ip.WithZone("")
	}
	return ip
}

// isDomainName reports whether s can be a DNS name: at most 254 bytes with a final
// dot, labels of 1 to 63 bytes of letters, digits, '-' and '_', no label starting
// or ending with '-'. It is looser than RFC 1035 in the same ways as Go's resolver.
func isDomainName(s string) bool {
	if s == "." {
		return true
	}
	if len(s) == 0 || len(s) > 254 || (len(s) == 254 && s[253] != '.') {
		return false
	}
	label, prev := 0, byte('.')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_':
			label++
		case c == '-':
			if prev == '.' {
				return false
			}
			label++
		case c == '.':
			if prev == '.' || prev == '-' || label > 63 {
				return false
			}
			label = 0
		default:
			return false
		}
		prev = c
	}
	return prev != '-' && label <= 63
}

// checkPort checks a port given as an int.
func checkPort(port int) (uint16, error) {
	if port < 0 || port > 0xffff {
		return 0, &net.AddrError{Err: "invalid port", Addr: strconv.Itoa(port)}
	}
	return uint16(port), nil
}
