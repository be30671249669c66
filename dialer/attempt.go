package dialer

import (
	"context"
	"net"
	"net/netip"
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

// attempt is what the attempts of one dial share; its dial method makes
// one.
type attempt struct {
	d       *PairDialer
	network string // the caller's
	base    string // "tcp" or "udp"
	local   bool   // the caller asked for a local address
	dev     sockopt.Device
	log     *zap.Logger
	// address is the caller's address when it is an IP literal with a
	// numeric port, and dst what it says: the attempts to dst dial it as is
	// (see sameDst).
	address string
	dst     netip.AddrPort
	// gate and control, when the dialer has a Control or ControlContext
	// hook, count the attempts inside it (see hookGate); nil otherwise.
	gate    *hookGate
	control func(context.Context, string, string, syscall.RawConn) error
}

// init sets up a for a dial of d for q over base ("tcp", "udp"), to the
// caller's address ("" when there is none as text), lit when that is an IP
// literal with a numeric port (invalid otherwise).
func (a *attempt) init(d *PairDialer, q pairs.Query, base, address string, lit netip.AddrPort, log *zap.Logger) {
	a.d, a.network, a.base, a.local, a.log = d, q.Network, base, asksLocal(q), log
	if lit.IsValid() {
		a.address, a.dst = address, lit
	}
	if d.Control != nil || d.ControlContext != nil {
		a.gate = new(hookGate)
		a.control = a.gate.control(d.Control, d.ControlContext)
	}
}

// dial makes one attempt over p with sockopt.Dial, with a net.Dialer
// carrying d's socket settings: bind the source (see bindAddr), bind to
// p.Interface if the mode says so (and no attempt of the dial found that
// refused), connect to p.Dst over the caller's network, so that the attempt's
// error, and what an httptrace.ClientTrace in ctx sees (ConnectStart and
// ConnectDone), are net.Dialer's for that one address.
func (a *attempt) dial(ctx context.Context, p pairs.Pair) (net.Conn, error) {
	d := a.d
	path := sockopt.Path{
		Dialer: net.Dialer{KeepAlive: d.KeepAlive, KeepAliveConfig: d.KeepAliveConfig,
			LocalAddr: d.bindAddr(p, a.base, a.local), ControlContext: a.control},
		Network: a.network,
		Dst:     p.Dst,
		Strict:  d.BindToDevice == BindAlways,
	}
	if d.mptcp != 0 {
		path.Dialer.SetMultipathTCP(d.mptcp == mptcpOn)
	}
	if d.bindsDevice(p) {
		path.Interface = p.Interface
	}
	if a.address != "" && sameDst(a.dst, p.Dst) {
		path.Address = a.address
	}
	c, first, err := sockopt.Dial(ctx, &path, &a.dev)
	if first {
		a.log.Debug("SO_BINDTODEVICE refused; binding source addresses only",
			zap.String("interface", p.Interface), zap.Error(a.dev.Refusal()))
	}
	if err != nil && p.NoNAT64 {
		err = withNoNAT64(err)
	}
	return c, err
}

// sameDst reports whether the pair destination dst is the caller's literal
// ap: equal, or ap without the zone pairs drop where the kernel ignores it
// ("[::1%lo]:80"), which net.Dialer keeps (in what Control, an httptrace
// ConnectStart and the error see) and the kernel ignores.
func sameDst(ap, dst netip.AddrPort) bool {
	return dst == ap || ap.Addr().Zone() != "" && dst == netip.AddrPortFrom(ap.Addr().WithZone(""), ap.Port())
}

// bindsDevice reports whether an attempt over p asks to bind to p.Interface.
func (d *PairDialer) bindsDevice(p pairs.Pair) bool {
	switch {
	case p.Interface == "" || d.BindToDevice == BindNever:
		return false
	case d.BindToDevice == BindAlways:
		return true
	}
	return p.EgressMismatch
}

// bindAddr returns the local address an attempt over p binds, as a
// *net.TCPAddr or *net.UDPAddr for base, or nil for none; local says the
// caller asked for a local address (LocalAddr, or DialTCP's laddr). That is
// p.Src, except that a Fallback pair binds what the caller asked (if
// anything), and a loopback pair binds as net.Dialer does, the kernel having
// no other source for it: nothing, or the caller's address when that has no IP
// or the unspecified one (a port, or "[::]" for a dual-stack socket).
func (d *PairDialer) bindAddr(p pairs.Pair, base string, local bool) net.Addr {
	switch {
	case p.Fallback && d.LocalAddr != nil:
		return d.LocalAddr
	case p.Fallback && p.Src.Addr().IsUnspecified() && p.Src.Port() == 0:
		return nil
	case !local && p.SrcClass == netstate.Loopback:
		return nil
	case p.SrcClass == netstate.Loopback && anyIP(d.LocalAddr):
		return d.LocalAddr
	}
	return p.LocalAddr(base)
}

// anyIP reports whether a is a TCP or UDP address without an IP or with the
// unspecified one.
func anyIP(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a != nil && (a.IP == nil || a.IP.IsUnspecified())
	case *net.UDPAddr:
		return a != nil && (a.IP == nil || a.IP.IsUnspecified())
	}
	return false
}

// asksLocal reports whether the caller of the dial of q asked for a local
// address: an IP, or only a port (LocalAddr's IP nil, as net.Dialer allows).
func asksLocal(q pairs.Query) bool { return q.Local.IsValid() || q.Local.Port() != 0 }

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
