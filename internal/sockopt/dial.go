package sockopt

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
)

// Path is one connect over a (source, destination) pair: what the dialer's
// attempts and the prober's connects both make with Dial.
type Path struct {
	// Dialer carries the socket settings (KeepAlive, KeepAliveConfig, MPTCP,
	// Control or ControlContext, which run first) and, in LocalAddr, the
	// source to bind: nil binds none. Its other fields are left as they are.
	Dialer net.Dialer
	// Network is the caller's network, as for net.Dial ("tcp", "tcp4", "udp6",
	// ...).
	Network string
	// Dst is the destination.
	Dst netip.AddrPort
	// Address, when not empty, is Dst as text ("192.0.2.1:80", "[2001:db8::1]:80"),
	// as the caller already has it: it is not made again.
	Address string
	// Interface, when not empty, is the interface the socket is bound to
	// (SO_BINDTODEVICE), unless the Device has seen that refused.
	Interface string
	// Strict makes a refused SO_BINDTODEVICE fail the connect. Otherwise the
	// connect is made again without it, and the Device remembers.
	Strict bool
}

// Device remembers that the system refused SO_BINDTODEVICE (no privilege, or
// not supported here), so that the later connects sharing it bind the source
// address alone. The zero value has seen no refusal. It is safe for
// concurrent use.
type Device struct{ refusal atomic.Pointer[DeviceError] }

// Refusal returns the system's refusal of SO_BINDTODEVICE to a connect
// sharing d, nil when there was none.
func (d *Device) Refusal() *DeviceError { return d.refusal.Load() }

// Dial makes the connect p describes, as a net.Dialer of that one address
// would: its error is net.Dialer's, and an httptrace.ClientTrace in ctx sees
// its ConnectStart and ConnectDone. A TCP source bound with port 0 gets its
// port at connect, from the whole 4-tuple (IP_BIND_ADDRESS_NO_PORT), rather
// than at bind from the ports no socket holds at all: TIME_WAIT connections
// would otherwise use up the ports of a busy source, where an unbound
// connect still finds some. first is set when this connect is the one that
// found SO_BINDTODEVICE refused in dev (so that the caller can say so once,
// with dev.Refusal()); dev may be nil when p.Interface is empty.
func Dial(ctx context.Context, p *Path, dev *Device) (c net.Conn, first bool, err error) {
	noPort := false
	if la, ok := p.Dialer.LocalAddr.(*net.TCPAddr); ok && la != nil && la.Port == 0 {
		noPort = true
	}
	ifname := p.Interface
	if ifname != "" && dev.Refusal() != nil {
		ifname = ""
	}
	c, err = dial(ctx, p, ifname, noPort)
	if ifname == "" || p.Strict {
		return c, false, err
	}
	de := refusal(err)
	if de == nil {
		return c, false, err
	}
	first = dev.refusal.CompareAndSwap(nil, de)
	c, err = dial(ctx, p, "", noPort)
	return c, first, err
}

// dial connects p.Dialer with the options: SO_BINDTODEVICE to ifname unless
// empty, IP_BIND_ADDRESS_NO_PORT when noPort, after the dialer's own control
// function. A connect that needs neither keeps the dialer as it is. (It sets
// the options in p.Dialer itself for the connect, and puts its control
// function back after: a copy of the dialer would be on the stack of every
// dial, and goroutine stacks grow by copying.)
func dial(ctx context.Context, p *Path, ifname string, noPort bool) (net.Conn, error) {
	nd := &p.Dialer
	if ifname != "" || noPort {
		cc := nd.ControlContext
		nd.ControlContext = withBind(ifname, noPort, nd.Control, cc)
		defer func() { nd.ControlContext = cc }()
	}
	addr := p.Address
	if addr == "" {
		addr = p.Dst.String()
	}
	return nd.DialContext(ctx, p.Network, addr)
}

// withBind returns a ControlContext that calls cc, else c, then Bind.
func withBind(ifname string, noPort bool, c func(string, string, syscall.RawConn) error,
	cc func(context.Context, string, string, syscall.RawConn) error,
) func(context.Context, string, string, syscall.RawConn) error {
	return func(ctx context.Context, network, address string, rc syscall.RawConn) error {
		var err error
		switch {
		case cc != nil:
			err = cc(ctx, network, address, rc)
		case c != nil:
			err = c(network, address, rc)
		}
		if err != nil {
			return err
		}
		return Bind(rc, ifname, noPort)
	}
}
