package dialer

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/getapr/getapr/pairs"
)

// errMissingAddress is net's error for an empty address (same text).
var errMissingAddress = errors.New("missing address")

// baseNetwork returns "tcp" or "udp" for the networks PairDialer dials over
// pairs, and "" for the others.
func baseNetwork(network string) string {
	switch network {
	case "tcp", "tcp4", "tcp6":
		return "tcp"
	case "udp", "udp4", "udp6":
		return "udp"
	}
	return ""
}

// localSystem reports whether address is "host:port" with an empty host, "the
// local system" to net.Dial: PairDialer leaves those to net.Dialer, which picks
// the one address and family for it.
func localSystem(address string) bool {
	host, _, err := net.SplitHostPort(address)
	return err == nil && host == ""
}

// query parses address as net.Dial does ("host:port", "[v6%zone]:port", a
// service name for the port) into the question for the Selector. Its errors
// are those net.Dialer wraps in an *net.OpError.
func (d *PairDialer) query(ctx context.Context, network, base, address string) (pairs.Query, error) {
	if address == "" {
		return pairs.Query{}, errMissingAddress
	}
	host, service, err := net.SplitHostPort(address)
	if err != nil {
		return pairs.Query{}, err
	}
	port, err := d.resolver().LookupPort(ctx, network, service)
	if err != nil {
		return pairs.Query{}, err
	}
	local, err := localAddrPort(d.LocalAddr, base)
	if err != nil {
		return pairs.Query{}, err
	}
	return pairs.Query{Network: network, Host: host, Port: uint16(port), Local: local, Resolver: d.Resolver}, nil
}

func (d *PairDialer) resolver() *net.Resolver {
	if d.Resolver != nil {
		return d.Resolver
	}
	return net.DefaultResolver
}

// localAddrPort converts LocalAddr for a base network, IPv4 unmapped, zone
// kept; the zero AddrPort for nil. A LocalAddr of the wrong type is net's
// "mismatched local address type" error.
func localAddrPort(la net.Addr, base string) (netip.AddrPort, error) {
	var ap netip.AddrPort
	switch a := la.(type) {
	case nil:
		return ap, nil
	case *net.TCPAddr:
		if base != "tcp" {
			return ap, &net.AddrError{Err: "mismatched local address type", Addr: la.String()}
		}
		ap = a.AddrPort()
	case *net.UDPAddr:
		if base != "udp" {
			return ap, &net.AddrError{Err: "mismatched local address type", Addr: la.String()}
		}
		ap = a.AddrPort()
	default:
		return ap, &net.AddrError{Err: "mismatched local address type", Addr: la.String()}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// noSuitableAddress is the error when the Selector found no pair: net's
// "no suitable address found", naming LocalAddr when one restricted the
// sources, otherwise the host.
func (d *PairDialer) noSuitableAddress(q pairs.Query) error {
	addr := q.Host
	if d.LocalAddr != nil {
		addr = d.LocalAddr.String()
	}
	return &net.AddrError{Err: "no suitable address found", Addr: addr}
}
