package dialer_test

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/getapr/getapr/dialer"
)

// A dial to "[::]:port", the unspecified IPv6 address (the local system),
// which net.Dialer follows with 0.0.0.0 (Go issue 18806), compared with
// net.Dialer's over loopback listeners: the Control calls, in order, and the
// outcome must be the same.

// outcome is what a caller reads of a dial: the error (text, OpError Source,
// Addr and the type of Err), or the connection's addresses, with the
// length of their IPs (16 for an AF_INET6 socket's, 4 for an AF_INET one's).
// Local ports are left out: they differ from dial to dial.
func outcome(c net.Conn, err error) string {
	if err != nil {
		return opSummary(err)
	}
	defer c.Close()
	ip := func(a net.Addr) string {
		switch a := a.(type) {
		case *net.TCPAddr:
			return fmt.Sprintf("%v/%d", a.IP, len(a.IP))
		case *net.UDPAddr:
			return fmt.Sprintf("%v/%d", a.IP, len(a.IP))
		}
		return fmt.Sprint(a)
	}
	return fmt.Sprintf("connected %s -> %s %s", ip(c.LocalAddr()), ip(c.RemoteAddr()), c.RemoteAddr())
}

// localFor returns the LocalAddr for base ("tcp", "udp") with IP ip and
// port 0, nil for an invalid ip.
func localFor(base string, ip netip.Addr) net.Addr {
	switch {
	case !ip.IsValid():
		return nil
	case base == "tcp":
		return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))
}

// TestDialUnspecifiedIPv6LikeNet dials "[::]:port" where only 127.0.0.1
// listens (the connect to :: is refused, 0.0.0.0 connects), where nothing
// listens, and where [::] listens, over every TCP and UDP network, with and
// without a LocalAddr. PairDialer once dialed 0.0.0.0 twice after a refused
// "::" (Control called three times where net.Dialer calls it twice, and
// "2 attempts failed" where net.Dialer returns the refusal of "::"): its
// attempt to "::" dialed the caller's "[::]:port", which net.Dialer itself
// follows with 0.0.0.0, and then the Selector's pair to 0.0.0.0 dialed it
// again.
func TestDialUnspecifiedIPv6LikeNet(t *testing.T) {
	sel := newSelector(t)
	_, refused, _ := net.SplitHostPort(closedAddr(t))
	ports := map[string]string{
		"127.0.0.1 listens": port(listen(t, "tcp4", "127.0.0.1:0")),
		"nothing listens":   refused,
		"[::] listens":      port(listen(t, "tcp", "[::]:0")),
	}
	locals := []netip.Addr{{}, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback(), netip.IPv6Unspecified()}
	for _, where := range []string{"127.0.0.1 listens", "nothing listens", "[::] listens"} {
		for _, network := range []string{"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6"} {
			for _, local := range locals {
				la := localFor(network[:3], local)
				t.Run(fmt.Sprintf("%s/%s/LocalAddr=%v", where, network, la), func(t *testing.T) {
					var pl, nl ctlLog
					pd := &dialer.PairDialer{Selector: sel, LocalAddr: la, Control: pl.control}
					nd := &net.Dialer{LocalAddr: la, Control: nl.control}
					address := "[::]:" + ports[where]
					got := outcome(pd.DialContext(t.Context(), network, address))
					want := outcome(nd.DialContext(t.Context(), network, address))
					if got != want {
						t.Errorf("outcome differs:\n\tPairDialer: %s\n\tnet.Dialer: %s", got, want)
					}
					if g, w := pl.String(), nl.String(); g != w {
						t.Errorf("Control calls differ: PairDialer %s, net.Dialer %s", g, w)
					}
				})
			}
		}
	}
}

// TestDialTCPUnspecifiedIPv6LikeNet: DialTCP to [::]:port. net.Dialer.DialTCP
// dials "::" alone (Go's fallback to 0.0.0.0 is DialContext's, for the text
// "[::]"); PairDialer's once followed it with 0.0.0.0 twice (Control called
// three times), and connected where only 127.0.0.1 listens, where
// net.Dialer's is refused.
func TestDialTCPUnspecifiedIPv6LikeNet(t *testing.T) {
	sel := newSelector(t)
	open := listen(t, "tcp4", "127.0.0.1:0").Addr().(*net.TCPAddr).AddrPort().Port()
	refused := netip.MustParseAddrPort(closedAddr(t)).Port()
	for _, p := range []uint16{open, refused} {
		for _, network := range []string{"tcp", "tcp6"} {
			for _, laddr := range []netip.AddrPort{{}, netip.MustParseAddrPort("[::]:0"), netip.MustParseAddrPort("127.0.0.1:0")} {
				raddr := netip.AddrPortFrom(netip.IPv6Unspecified(), p)
				t.Run(fmt.Sprintf("%s/%v/%v", network, laddr, raddr), func(t *testing.T) {
					var pl, nl ctlLog
					pd := &dialer.PairDialer{Selector: sel, Control: pl.control}
					nd := &net.Dialer{Control: nl.control}
					got := outcome(tcpConn(pd.DialTCP(t.Context(), network, laddr, raddr)))
					want := outcome(tcpConn(nd.DialTCP(t.Context(), network, laddr, raddr)))
					if got != want {
						t.Errorf("outcome differs:\n\tPairDialer: %s\n\tnet.Dialer: %s", got, want)
					}
					if g, w := pl.String(), nl.String(); g != w {
						t.Errorf("Control calls differ: PairDialer %s, net.Dialer %s", g, w)
					}
				})
			}
		}
	}
}

// tcpConn returns c as a net.Conn, nil when it is nil (not a nil
// *net.TCPConn in a non-nil interface).
func tcpConn(c *net.TCPConn, err error) (net.Conn, error) {
	if c == nil {
		return nil, err
	}
	return c, err
}
