package dialer_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"testing"

	"github.com/getapr/getapr/dialer"
)

// DialTCP, DialUDP and LocalAddr forms compared with net.Dialer's, on
// loopback listeners the tests start: errors (text, Source, Addr) and the
// Control calls must be the same.

// ctlLog records the (network, address) of every Control call.
type ctlLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *ctlLog) control(network, address string, _ syscall.RawConn) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, network+" "+address)
	return nil
}

func (l *ctlLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(l.calls)
}

// opSummary is what a caller reads of a failed dial: the text and the
// OpError's Source and Addr.
func opSummary(err error) string {
	if err == nil {
		return "<no error>"
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		return fmt.Sprintf("%T %q", err, err)
	}
	return fmt.Sprintf("%q Source=%v Addr=%v Err=%T", err, oe.Source, oe.Addr, oe.Err)
}

// freeTCPPort returns a loopback port no socket uses now.
func freeTCPPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// TestDialTCPUDPErrorsLikeNet: net.Dialer.DialTCP and DialUDP report laddr
// itself as OpError.Source (":0" for the zero AddrPort, ":P" for a port
// alone), and, with a context already canceled, still make the socket
// (Control runs once). PairDialer's once reported nil, or the source IP they
// chose, and called Control no time.
func TestDialTCPUDPErrorsLikeNet(t *testing.T) {
	sel := newSelector(t)
	closed := netip.MustParseAddrPort(closedAddr(t))
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	udp := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	portOnly := netip.AddrPortFrom(netip.Addr{}, freeTCPPort(t))
	for _, tc := range []struct {
		name    string
		network string
		ctx     context.Context
		laddr   netip.AddrPort
		raddr   netip.AddrPort
	}{
		{"DialTCP tcp, no laddr, refused", "tcp", context.Background(), netip.AddrPort{}, closed},
		{"DialTCP tcp4, no laddr, refused", "tcp4", context.Background(), netip.AddrPort{}, closed},
		{"DialTCP tcp, laddr port only, refused", "tcp", context.Background(), portOnly, closed},
		{"DialTCP tcp, no laddr, context canceled", "tcp", canceled, netip.AddrPort{}, closed},
		{"DialUDP udp, no laddr, context canceled", "udp", canceled, netip.AddrPort{}, udp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pl, nl ctlLog
			pd := &dialer.PairDialer{Selector: sel, Control: pl.control}
			nd := &net.Dialer{Control: nl.control}
			var got, want error
			if tc.network[:3] == "tcp" {
				// PairDialer first: a refused connect leaves no TIME_WAIT,
				// so both bind the same port alone.
				c, err := pd.DialTCP(tc.ctx, tc.network, tc.laddr, tc.raddr)
				if c != nil {
					c.Close()
				}
				got = err
				nc, err := nd.DialTCP(tc.ctx, tc.network, tc.laddr, tc.raddr)
				if nc != nil {
					nc.Close()
				}
				want = err
			} else {
				c, err := pd.DialUDP(tc.ctx, tc.network, tc.laddr, tc.raddr)
				if c != nil {
					c.Close()
				}
				got = err
				nc, err := nd.DialUDP(tc.ctx, tc.network, tc.laddr, tc.raddr)
				if nc != nil {
					nc.Close()
				}
				want = err
			}
			if tc.ctx.Err() != nil {
				// net.Dialer's own outcome varies here: the connect to a
				// closed loopback port may fail before the canceled
				// context is seen. Compare what does not vary.
				got, want = sourceAddr(got), sourceAddr(want)
			}
			if g, w := opSummary(got), opSummary(want); g != w {
				t.Errorf("error differs:\n\tPairDialer: %s\n\tnet.Dialer: %s", g, w)
			}
			if g, w := pl.String(), nl.String(); g != w {
				t.Errorf("Control calls differ: PairDialer %s, net.Dialer %s", g, w)
			}
		})
	}
}

// sourceAddr returns err's OpError with only its Op, Net, Source and Addr,
// or err if it is none.
func sourceAddr(err error) error {
	var oe *net.OpError
	if !errors.As(err, &oe) {
		return err
	}
	return &net.OpError{Op: oe.Op, Net: oe.Net, Source: oe.Source, Addr: oe.Addr, Err: errors.New("(varies)")}
}

// TestDialTCPZoneLikeNet: DialTCP to an address with a zone
// ([::1%lo]:port). net.Dialer.DialTCP gives Control, and its error's Addr,
// the address with its zone, as DialContext does for "[::1%lo]:port" (where
// PairDialer keeps it: compare_linux_test.go); PairDialer.DialTCP once dropped
// it.
func TestDialTCPZoneLikeNet(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).AddrPort().Port()
	ln.Close() // refused from now on
	if _, err := net.InterfaceByName("lo"); err != nil {
		t.Skipf("no interface lo: %v", err)
	}
	raddr := netip.AddrPortFrom(netip.IPv6Loopback().WithZone("lo"), port)
	var pl, nl ctlLog
	pd := &dialer.PairDialer{Selector: newSelector(t), Control: pl.control}
	nd := &net.Dialer{Control: nl.control}
	_, got := pd.DialTCP(t.Context(), "tcp6", netip.MustParseAddrPort("[::1]:0"), raddr)
	_, want := nd.DialTCP(t.Context(), "tcp6", netip.MustParseAddrPort("[::1]:0"), raddr)
	if g, w := opSummary(got), opSummary(want); g != w {
		t.Errorf("error differs:\n\tPairDialer: %s\n\tnet.Dialer: %s", g, w)
	}
	if g, w := pl.String(), nl.String(); g != w {
		t.Errorf("Control calls differ: PairDialer %s, net.Dialer %s", g, w)
	}
}

// TestLocalAddrUnspecifiedLikeNet: a LocalAddr whose IP is
// unspecified (0.0.0.0, ::) or nil (a port alone), dialing one loopback
// address. net.Dialer binds LocalAddr as given and names it as the error's
// Source, and for "::" to an IPv4 address makes an AF_INET6 socket (Control
// hears "tcp6"); PairDialer once bound 127.0.0.1 in an AF_INET socket.
func TestLocalAddrUnspecifiedLikeNet(t *testing.T) {
	sel := newSelector(t)
	closed := closedAddr(t)
	open := listen(t, "tcp4", "127.0.0.1:0").Addr().String()
	for _, tc := range []struct {
		name    string
		local   net.Addr
		address string
	}{
		{"0.0.0.0, refused", &net.TCPAddr{IP: net.IPv4zero}, closed},
		{":: , refused", &net.TCPAddr{IP: net.IPv6zero}, closed},
		{"port only, refused", &net.TCPAddr{Port: int(freeTCPPort(t))}, closed},
		{":: , connects", &net.TCPAddr{IP: net.IPv6zero}, open},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pl, nl ctlLog
			pd := &dialer.PairDialer{Selector: sel, LocalAddr: tc.local, Control: pl.control}
			nd := &net.Dialer{LocalAddr: tc.local, Control: nl.control}
			c, got := pd.Dial("tcp", tc.address)
			if c != nil {
				c.Close()
			}
			nc, want := nd.Dial("tcp", tc.address)
			if nc != nil {
				nc.Close()
			}
			if g, w := opSummary(got), opSummary(want); g != w {
				t.Errorf("error differs:\n\tPairDialer: %s\n\tnet.Dialer: %s", g, w)
			}
			if g, w := pl.String(), nl.String(); g != w {
				t.Errorf("Control calls differ: PairDialer %s, net.Dialer %s", g, w)
			}
		})
	}
}
