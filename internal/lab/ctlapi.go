package lab

import (
	"context"
	"fmt"
	"net/netip"
	"time"
)

// do runs one control, here or in the process that runs the lab.
func (l *Lab) do(req request) error {
	l.dirty.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), ctlTimeout)
	defer cancel()
	var r response
	if l.own != nil {
		r = l.own.handle(ctx, req)
	} else {
		var err error
		if r, err = callCtl(ctx, l.f.Control, req); err != nil {
			return fmt.Errorf("lab: %s: %w", req.Op, err)
		}
	}
	return r.err()
}

// SetRTT sets the round-trip delay of an uplink (half in each direction) for
// frames that arrive from now on; zero or negative means no delay.
func (l *Lab) SetRTT(uplink int, rtt time.Duration) error {
	return l.do(request{Op: opRTT, Uplink: uplink, RTT: rtt})
}

// Blackhole makes the ISP of the uplink drop every packet from and to the
// client silently (on), or forward them again (off). The link itself stays up:
// neighbour discovery and traffic to the router keep working.
func (l *Lab) Blackhole(uplink int, on bool) error {
	return l.do(request{Op: opBlackhole, Uplink: uplink, On: on})
}

// Cut takes the carrier away from the client's interface on the uplink by
// bringing the far end (the relay's port) down, or heals it: brings it up,
// waits until the client's interface is up and flushes the neighbour caches on
// both sides of the link.
func (l *Lab) Cut(uplink int, on bool) error {
	return l.do(request{Op: opCut, Uplink: uplink, On: on})
}

// IngressFilter turns BCP 38 at the uplink's ISP on or off: when on (the
// default at both), the ISP drops packets from the client link whose source is
// not in its own space.
func (l *Lab) IngressFilter(uplink int, on bool) error {
	return l.do(request{Op: opIngress, Uplink: uplink, On: on})
}

// Middlebox puts a TCP-terminating middlebox on the uplink (mode
// MiddleboxSilent or MiddleboxReset) or takes it away (MiddleboxOff): the
// uplink's ISP then completes every TCP handshake to port 443 itself, from
// the client's link, whatever the destination, and the TLS handshake fails
// (see MiddleboxMode). Other ports, and plain TCP to port 443 that sends
// nothing, see no difference. It applies to new connections.
func (l *Lab) Middlebox(uplink int, mode MiddleboxMode) error {
	return l.do(request{Op: opMiddlebox, Uplink: uplink, Mode: mode})
}

// PolicyRouting turns the client's source-based policy routing on (the default)
// or off. Off, every packet leaves by the preferred default route (uplink 0),
// whatever its source.
func (l *Lab) PolicyRouting(on bool) error {
	return l.do(request{Op: opPolicy, On: on})
}

// Families gives the client only the address families asked for:
// Families(false, true) is an IPv6-only client (no IPv4 address, no IPv4 default
// route), Families(true, false) an IPv4-only one (link-local IPv6 stays), and
// Families(true, true) restores both. Extra addresses of a removed family are
// forgotten.
func (l *Lab) Families(v4, v6 bool) error {
	return l.do(request{Op: opFamilies, V4: v4, V6: v6})
}

// NAT44 turns NAT44 at ISP A on (the default) or off; off, the RFC 1918 source
// leaves untranslated and gets no answer. It applies to new connections.
func (l *Lab) NAT44(on bool) error {
	return l.do(request{Op: opNAT44, On: on})
}

// NPTv6 turns NPTv6 at ISP A on (the default) or off; off, the ULA source leaves
// untranslated and gets no answer. It applies to new connections.
func (l *Lab) NPTv6(on bool) error {
	return l.do(request{Op: opNPTv6, On: on})
}

// AddClientAddr adds an address (with its prefix length, for example
// 2001:db8:a:1::200/64) to the client's interface on the uplink, usable at once
// (no DAD).
func (l *Lab) AddClientAddr(uplink int, p netip.Prefix) error {
	return l.do(request{Op: opAddAddr, Uplink: uplink, Prefix: p})
}

// RemoveClientAddr removes an address from the client's interface on the
// uplink.
func (l *Lab) RemoveClientAddr(uplink int, p netip.Prefix) error {
	return l.do(request{Op: opDelAddr, Uplink: uplink, Prefix: p})
}

// NAT64 makes uplink 1 IPv6-only behind a NAT64 (on), or gives it back its
// IPv4 (off, the default). On, the client loses its IPv4 address and IPv4
// routes on uplink 1 (its IPv4 on uplink 0 stays: Families(false, true) makes
// it IPv6-only altogether), and ISP B translates NAT64Facts().Prefix with tayga
// (the Debian package, started at the first use and kept running until the
// lab goes down) and masquerades it behind its outside IPv4 address. It
// returns once a connection from uplink 1's GUA through the NAT64 works (a
// packet sent before tayga reads its TUN device is lost; new sources after that
// go through at once, measured: no first-SYN loss). Off, the masquerade goes,
// so translated connections hang. Nothing tells the client the prefix: see
// AdvertisePREF64 and DNS64.
func (l *Lab) NAT64(on bool) error {
	return l.do(request{Op: opNAT64, On: on})
}

// DNS64 turns DNS64 in the lab DNS on or off (the default). On, an AAAA query
// for a name with A records and no AAAA records (Server.NoAAAAName, and
// ipv4only.arpa, whose A records are 192.0.0.170 and 192.0.0.171) is answered
// with the A records synthesized under NAT64Facts().Prefix (RFC 6147); off,
// such names have no AAAA. Names with AAAA records are answered as always.
func (l *Lab) DNS64(on bool) error {
	return l.do(request{Op: opDNS64, On: on})
}

// AdvertisePREF64 sends one Router Advertisement from the uplink's ISP router
// to the client's link, carrying a PREF64 option (RFC 8781) with the prefix
// (length 32, 40, 48, 56, 64 or 96) and lifetime (rounded up to 8 s, at most
// 65528 s); lifetime zero withdraws it. The RA's Router Lifetime is zero and
// it carries nothing else, so the client's routes do not change; the client
// takes RAs (accept_ra=2) and its kernel hands the option to user space
// (RTNLGRP_ND_USEROPT). It returns once the RA is sent; the relays pass
// Neighbor Discovery without delay, so it arrives at once. Restore withdraws
// what is still advertised.
func (l *Lab) AdvertisePREF64(uplink int, prefix netip.Prefix, lifetime time.Duration) error {
	return l.do(request{Op: opPREF64, Uplink: uplink, Prefix: prefix, Lifetime: lifetime})
}

// Restore puts every control back to the state of bring-up: RTTs as in
// Options, no blackhole, no cut, no middlebox, ingress filters, policy
// routing, both families, NAT44 and NPTv6 on, NAT64 and DNS64 off, advertised
// PREF64s withdrawn, and added client addresses removed.
func (l *Lab) Restore() error {
	err := l.do(request{Op: opRestore})
	if err == nil {
		l.dirty.Store(false)
	}
	return err
}
