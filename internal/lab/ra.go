package lab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
)

// An ISP router can send a Router Advertisement to the client's link, to tell
// the client its NAT64 prefix (the PREF64 option of RFC 8781). The lab's
// routing stays static: the RA's Router Lifetime is zero (not a default
// router), it carries no prefix information, and the client (accept_ra=2) takes
// nothing from it but the options the kernel hands to user space.

// pref64Option encodes a PREF64 option (RFC 8781 section 4): type 38, length 2
// (16 bytes), the 13-bit lifetime in units of 8 seconds (rounded up, at most
// 8191) and the 3-bit prefix length code, then the prefix's first 96 bits.
func pref64Option(p netip.Prefix, lifetime time.Duration) ([]byte, error) {
	codes := map[int]uint16{96: 0, 64: 1, 56: 2, 48: 3, 40: 4, 32: 5}
	plc, ok := codes[p.Bits()]
	if !ok || !p.Addr().Is6() {
		return nil, fmt.Errorf("lab: PREF64 %v: want an IPv6 prefix of length 32, 40, 48, 56, 64 or 96", p)
	}
	scaled := min((max(lifetime, 0)+8*time.Second-1)/(8*time.Second), 8191)
	b := make([]byte, 4, 16)
	b[0], b[1] = 38, 2
	binary.BigEndian.PutUint16(b[2:], uint16(scaled)<<3|plc)
	a := p.Masked().Addr().As16()
	return append(b, a[:12]...), nil
}

// routerAdvert returns the ICMPv6 message of a Router Advertisement (RFC 4861
// section 4.2) with no hop limit, flags, router lifetime, reachable time or
// retransmission timer, carrying the options. The kernel fills in the checksum.
func routerAdvert(opts ...[]byte) ([]byte, error) {
	body := make([]byte, 12) // cur hop limit, flags, router lifetime, reachable time, retrans timer
	for _, o := range opts {
		body = append(body, o...)
	}
	m := icmp.Message{Type: ipv6.ICMPTypeRouterAdvertisement, Body: &icmp.RawBody{Data: body}}
	return m.Marshal(nil)
}

// sendRA sends one Router Advertisement from the router's link-local address
// on interface ifname in namespace ns to all nodes (ff02::1), with hop limit
// 255 as RFC 4861 requires.
func sendRA(ns, ifname string, from netip.Addr, msg []byte) error {
	// The interface and the source go by index in the packet's control
	// message, never by zone text: Go resolves zone names through one cache for
	// the whole process (the lab's namespaces share interface names), and
	// parses no index above 2^24 (the kernel gives namespaces larger ones).
	ifi, err := interfaceIn(ns, ifname)
	if err != nil {
		return err
	}
	var c *icmp.PacketConn
	err = inNetNS(ns, func() error {
		var err error
		c, err = icmp.ListenPacket("ip6:ipv6-icmp", "::")
		return err
	})
	if err != nil {
		return fmt.Errorf("lab: RA socket in %s: %w", ns, err)
	}
	defer c.Close()
	p := c.IPv6PacketConn()
	err = errors.Join(p.SetMulticastHopLimit(255), p.SetMulticastInterface(ifi))
	if err == nil {
		cm := &ipv6.ControlMessage{Src: from.AsSlice(), IfIndex: ifi.Index, HopLimit: 255}
		_, err = p.WriteTo(msg, cm, &net.IPAddr{IP: net.ParseIP("ff02::1")})
	}
	if err != nil {
		return fmt.Errorf("lab: sending an RA in %s: %w", ns, err)
	}
	return nil
}

// interfaceIn looks up an interface by name inside namespace ns.
func interfaceIn(ns, ifname string) (*net.Interface, error) {
	var ifi *net.Interface
	err := inNetNS(ns, func() error {
		var err error
		ifi, err = net.InterfaceByName(ifname)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lab: interface %s in %s: %w", ifname, ns, err)
	}
	return ifi, nil
}
