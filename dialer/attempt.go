package dialer

import (
	"context"
	"net"
	"net/http/httptrace"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/sockopt"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
)

// BindMode says when an attempt binds its socket to the interface of its source
// address (SO_BINDTODEVICE on Linux), so that the connection leaves by that
// interface whatever the routing table says. That matters on a host without
// source-based policy routing: there the kernel sends every connection by the
// main table's default route, and an ISP that filters foreign sources (BCP 38)
// drops those from the other ISP's address.
//
// On Linux 5.7 and later, SO_BINDTODEVICE needs no privilege on a socket not
// yet bound to a device; before 5.7 it needs CAP_NET_RAW. Other systems do not
// support it.
type BindMode uint8

// The bind modes.
const (
	// BindAuto binds to the device only for pairs whose kernel route leaves by
	// another interface than the source's (pairs.Pair.EgressMismatch). Where
	// that is refused (no privilege, or unsupported), the attempt is repeated
	// with the source address bound alone, and the dial's later attempts do not
	// try SO_BINDTODEVICE again.
	BindAuto BindMode = iota
	// BindNever binds the source address only: the kernel's routes decide the
	// egress interface.
	BindNever
	// BindAlways binds every attempt to its source's interface. An attempt
	// where that fails, fails.
	BindAlways
)

var bindModeNames = [...]string{"auto", "never", "always"}

func (m BindMode) String() string {
	if int(m) < len(bindModeNames) {
		return bindModeNames[m]
	}
	return "bindmode(?)"
}

// attemptFunc returns the dial function of one race over base ("tcp", "udp").
func (d *PairDialer) attemptFunc(base string, log *zap.Logger) dialFunc {
	denied := new(atomic.Bool) // shared by the race's attempts
	return func(ctx context.Context, p pairs.Pair) (net.Conn, error) {
		return d.dialPair(ctx, base, p, denied, log)
	}
}

// dialPair makes one attempt over p: bind p.Src, bind to p.Interface if the
// mode says so, connect to p.Dst. denied is set, and then skips the device
// bind, once SO_BINDTODEVICE was refused in BindAuto mode.
func (d *PairDialer) dialPair(ctx context.Context, base string, p pairs.Pair, denied *atomic.Bool, log *zap.Logger) (net.Conn, error) {
	bind := d.bindsDevice(p, denied.Load())
	c, err := d.connect(ctx, base, p, bind)
	if bind && d.BindToDevice == BindAuto && sockopt.Refused(err) {
		if !denied.Swap(true) && log != nil {
			log.Debug("SO_BINDTODEVICE refused; binding source addresses only",
				zap.String("interface", p.Interface), zap.Error(err))
		}
		c, err = d.connect(ctx, base, p, false)
	}
	return c, err
}

// bindsDevice reports whether an attempt over p binds to p.Interface; denied
// says SO_BINDTODEVICE was refused earlier in the dial.
func (d *PairDialer) bindsDevice(p pairs.Pair, denied bool) bool {
	switch {
	case p.Interface == "" || d.BindToDevice == BindNever:
		return false
	case d.BindToDevice == BindAlways:
		return true
	}
	return p.EgressMismatch && !denied
}

// connect binds p.Src and connects to p.Dst with a net.Dialer carrying d's
// socket settings; bind adds SO_BINDTODEVICE to p.Interface after d's Control.
// An httptrace.ClientTrace in ctx sees the connect as with net.Dialer.
func (d *PairDialer) connect(ctx context.Context, base string, p pairs.Pair, bind bool) (net.Conn, error) {
	nd := net.Dialer{KeepAlive: d.KeepAlive, KeepAliveConfig: d.KeepAliveConfig}
	ifname := ""
	if bind {
		ifname = p.Interface
	}
	// A TCP source bound with port 0 gets its port at connect, from the whole
	// 4-tuple, rather than at bind from the ports nobody uses at all: without
	// that, TIME_WAIT connections exhaust the ports of a busy source.
	noPort := base == "tcp" && p.Src.Port() == 0 && localFor(p).IsValid()
	nd.ControlContext = attemptControl(ifname, noPort, d.Control, d.ControlContext)
	network := familyNetwork(base, p.Is6())
	ct := httptrace.ContextClientTrace(ctx)
	if ct != nil && ct.ConnectStart != nil {
		ct.ConnectStart(network, p.Dst.String())
	}
	var c net.Conn
	var err error
	if base == "udp" {
		c, err = dialUDP(ctx, &nd, network, p)
	} else {
		c, err = dialTCP(ctx, &nd, network, p)
	}
	if ct != nil && ct.ConnectDone != nil {
		ct.ConnectDone(network, p.Dst.String(), err)
	}
	return c, err
}

// familyNetwork returns base ("tcp", "udp") with the family digit, like
// pairs.Pair.Network but without building the string.
func familyNetwork(base string, is6 bool) string {
	switch {
	case base == "udp" && is6:
		return "udp6"
	case base == "udp":
		return "udp4"
	case is6:
		return "tcp6"
	}
	return "tcp4"
}

// localFor returns the address an attempt over p binds: p.Src, except for a
// loopback pair without a fixed port, which is left unbound as net.Dialer leaves
// it: the kernel has no other source for it.
func localFor(p pairs.Pair) netip.AddrPort {
	if p.SrcClass == netstate.Loopback && p.Src.Port() == 0 {
		return netip.AddrPort{}
	}
	return p.Src
}

// dialTCP and dialUDP return a nil net.Conn, not a typed nil, on error.
func dialTCP(ctx context.Context, nd *net.Dialer, network string, p pairs.Pair) (net.Conn, error) {
	c, err := nd.DialTCP(ctx, network, localFor(p), p.Dst)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func dialUDP(ctx context.Context, nd *net.Dialer, network string, p pairs.Pair) (net.Conn, error) {
	c, err := nd.DialUDP(ctx, network, localFor(p), p.Dst)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// attemptControl returns the ControlContext of an attempt: the user's control
// function (cc, else c), then sockopt.Bind: SO_BINDTODEVICE to ifname unless it
// is empty, IP_BIND_ADDRESS_NO_PORT when noPort.
func attemptControl(ifname string, noPort bool, c func(string, string, syscall.RawConn) error,
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
		return sockopt.Bind(rc, ifname, noPort)
	}
}

// connectUDP connects a UDP socket over the first pair the kernel accepts. A UDP
// connect sends nothing: it only checks the route, so there is nothing to race
// and nothing to report to probe.
func (d *PairDialer) connectUDP(ctx context.Context, ps []pairs.Pair, t *Trace, log *zap.Logger) (net.Conn, error) {
	e := &AttemptsError{}
	denied := new(atomic.Bool)
	for i, p := range ps {
		if err := ctx.Err(); err != nil {
			e.Untried, e.Cause = len(ps)-i, err
			break
		}
		if t != nil && t.AttemptStart != nil {
			t.AttemptStart(p)
		}
		start := time.Now()
		c, err := d.dialPair(ctx, "udp", p, denied, log)
		if t != nil && t.AttemptDone != nil {
			t.AttemptDone(p, time.Since(start), err)
		}
		if err == nil {
			return c, nil
		}
		e.Attempts = append(e.Attempts, &AttemptError{Pair: p, Duration: time.Since(start), Err: err})
	}
	return nil, e
}
