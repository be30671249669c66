package dialer

import (
	"context"
	"net"
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

// attemptFunc returns the dial function of one dial for q over base ("tcp",
// "udp").
func (d *PairDialer) attemptFunc(q pairs.Query, base string, log *zap.Logger) dialFunc {
	denied := new(atomic.Bool) // shared by the dial's attempts
	a := attempt{network: q.Network, base: base, local: q.Local.IsValid(), denied: denied, log: log}
	return func(ctx context.Context, p pairs.Pair) (net.Conn, error) {
		return d.dialPair(ctx, a, p)
	}
}

// attempt is what the attempts of one dial share.
type attempt struct {
	network string // the caller's
	base    string // "tcp" or "udp"
	local   bool   // the caller asked for a local address
	denied  *atomic.Bool
	log     *zap.Logger
}

// dialPair makes one attempt over p: bind p.Src, bind to p.Interface if the
// mode says so, connect to p.Dst. a.denied is set, and then skips the device
// bind, once SO_BINDTODEVICE was refused in BindAuto mode.
func (d *PairDialer) dialPair(ctx context.Context, a attempt, p pairs.Pair) (net.Conn, error) {
	bind := d.bindsDevice(p, a.denied.Load())
	c, err := d.connect(ctx, a, p, bind)
	if bind && d.BindToDevice == BindAuto && sockopt.Refused(err) {
		if !a.denied.Swap(true) {
			a.log.Debug("SO_BINDTODEVICE refused; binding source addresses only",
				zap.String("interface", p.Interface), zap.Error(err))
		}
		c, err = d.connect(ctx, a, p, false)
	}
	if err != nil && p.NoNAT64 {
		err = withNoNAT64(err)
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

// connect makes one attempt with a net.Dialer carrying d's socket settings:
// from bindAddr to p.Dst over the caller's network, so that the attempt's
// error, and what an httptrace.ClientTrace in ctx sees (ConnectStart and
// ConnectDone), are net.Dialer's for that one address. bind adds
// SO_BINDTODEVICE to p.Interface after d's Control.
func (d *PairDialer) connect(ctx context.Context, a attempt, p pairs.Pair, bind bool) (net.Conn, error) {
	nd := net.Dialer{KeepAlive: d.KeepAlive, KeepAliveConfig: d.KeepAliveConfig, LocalAddr: d.bindAddr(p, a.base, a.local)}
	if d.mptcp != 0 {
		nd.SetMultipathTCP(d.mptcp == mptcpOn)
	}
	ifname := ""
	if bind {
		ifname = p.Interface
	}
	// A TCP source bound with port 0 gets its port at connect, from the whole
	// 4-tuple, rather than at bind from the ports nobody uses at all: without
	// that, TIME_WAIT connections exhaust the ports of a busy source.
	noPort := a.base == "tcp" && p.Src.Port() == 0 && nd.LocalAddr != nil
	nd.ControlContext = attemptControl(ifname, noPort, d.Control, d.ControlContext)
	return nd.DialContext(ctx, a.network, p.Dst.String())
}

// bindAddr returns the local address an attempt over p binds, as a
// *net.TCPAddr or *net.UDPAddr for base, or nil for none; local says the
// caller asked for a local address (LocalAddr, or DialTCP's laddr). That is
// p.Src, except that a Fallback pair binds what the caller asked (if
// anything), and a loopback pair that pairs chose is left unbound as
// net.Dialer leaves it: the kernel has no other source for it.
func (d *PairDialer) bindAddr(p pairs.Pair, base string, local bool) net.Addr {
	switch {
	case p.Fallback && d.LocalAddr != nil:
		return d.LocalAddr
	case p.Fallback && p.Src.Addr().IsUnspecified() && p.Src.Port() == 0:
		return nil
	case !local && p.SrcClass == netstate.Loopback:
		return nil
	}
	return p.LocalAddr(base)
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
func (d *PairDialer) connectUDP(ctx context.Context, ps []pairs.Pair, dial dialFunc, t *Trace) (net.Conn, error) {
	e := &AttemptsError{}
	for i, p := range ps {
		if err := ctx.Err(); err != nil && i > 0 {
			e.Untried, e.Cause = len(ps)-i, err
			break
		}
		if t != nil && t.AttemptStart != nil {
			t.AttemptStart(p)
		}
		start := time.Now()
		c, err := dial(ctx, p)
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
