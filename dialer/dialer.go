package dialer

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// PairDialer dials like net.Dialer, but over ranked (source, destination) address
// pairs: for TCP it binds each pair's source in turn and races staggered connects
// (Happy Eyeballs, RFC 8305), returning the first connection established. The
// fields that net.Dialer also has mean the same here.
//
// The zero value is ready to use: it uses the process-wide default Selector. A
// PairDialer is safe for concurrent use as long as its fields are not changed.
type PairDialer struct {
	// Timeout is the most a dial may take, name resolution and every attempt
	// included. Zero means no timeout (the operating system's connect timeout
	// still applies to each attempt). With Deadline and the context's deadline,
	// the earliest wins.
	Timeout time.Duration

	// Deadline is the time after which a dial fails. Zero means no deadline.
	Deadline time.Time

	// LocalAddr is the local address to dial from, as in net.Dialer: when its
	// IP is set, only pairs from that address are tried (and destinations of
	// its family), and any address the kernel can bind is used, also one that
	// is not among the host's sources (a loopback alias); an unspecified IP
	// restricts nothing but the port. When its port is not zero, every attempt
	// binds that port, so attempts are serial, as with a negative AttemptDelay
	// (two attempts bound to one address and port cannot overlap; net.Dialer
	// too tries its addresses one by one). It must be a *net.TCPAddr
	// for TCP networks and a *net.UDPAddr for UDP ones. Nil means any source
	// and an ephemeral port.
	LocalAddr net.Addr

	// DualStack is ignored, as in net.Dialer.
	//
	// Deprecated: Fast Fallback is enabled by default. To disable, set
	// FallbackDelay to a negative value.
	DualStack bool

	// FallbackDelay is net.Dialer's Fast Fallback delay (RFC 6555), applied to
	// the family interleave of the racing order: when positive, the first
	// attempt of the other address family starts FallbackDelay after the
	// first attempt (MinAttemptDelay at least), as net.Dialer starts its
	// fallback: not earlier, unless every attempt started before it has
	// failed, and not later when it is the next pair and no connect has
	// completed, even if AttemptDelay is longer. A pair through a NAT64
	// (pairs.Pair.Synthesized) is of the IPv4 family here, as in
	// pairs.Order. Zero leaves the pace to AttemptDelay alone. Negative disables
	// Fast Fallback as in net.Dialer: every pair of the first pair's family is
	// tried before any of the other family, as net.Dialer tries its primary
	// addresses first, and, unless AttemptDelay is set, one at a time, each
	// after the previous one failed, as net.Dialer tries its addresses then.
	FallbackDelay time.Duration

	// KeepAlive is the interval between TCP keep-alive probes on the connection,
	// as in net.Dialer: zero means the default (15 s where supported), negative
	// disables them. It is ignored when KeepAliveConfig.Enable is true.
	KeepAlive time.Duration

	// KeepAliveConfig configures TCP keep-alive probes as in net.Dialer. Its zero
	// value leaves the choice to KeepAlive.
	KeepAliveConfig net.KeepAliveConfig

	// Resolver looks up host names and service names. Nil means
	// net.DefaultResolver. With its StrictErrors set, a dial waits for both
	// the A and the AAAA answer (no Resolution Delay), and fails as
	// net.Dialer's when one of them failed temporarily (SERVFAIL, a timeout).
	Resolver *net.Resolver

	// Cancel, if not nil, cancels the dial when it is closed, as in
	// net.Dialer.
	//
	// Deprecated: Use DialContext instead.
	Cancel <-chan struct{}

	// Control, if not nil, is called for each attempt's socket after it is
	// created and before it is bound and connected, with the attempt's network
	// ("tcp4", "tcp6", ...) and destination as in net.Dialer. Nil means none.
	// It is ignored when ControlContext is set.
	Control func(network, address string, c syscall.RawConn) error

	// ControlContext is Control with the dial's context. Nil means Control, if
	// set, is used instead.
	ControlContext func(ctx context.Context, network, address string, c syscall.RawConn) error

	// AttemptDelay is the time between the starts of two attempts when the
	// earlier one has neither failed nor connected yet. Zero means
	// DefaultAttemptDelay (250 ms), or, when the earlier pair's round-trip time
	// was measured, SRTT + 4·RTTVAR clamped to [100 ms, 2 s]. A positive value is
	// used as is, but never below MinAttemptDelay (10 ms). A negative value makes
	// attempts serial: the next starts only when the previous one has failed,
	// each with its share of the time left, like net.Dialer's addresses.
	//
	// At most 16 attempts of a dial run at once. When 16 do and the next is
	// due, the oldest still connecting (not in its TLS handshake, unless all
	// are) is given up to make room, once it has run 2 s (a SYN
	// retransmission and a slow round trip), and the next starts when it has
	// ended; until then the next waits. An attempt given up is reported to
	// the Selector as one canceled because another won, and listed in the
	// dial's error as a timeout. So a dial to a name with hundreds of
	// addresses that drop SYNs holds 16 sockets at most and keeps moving
	// through them.
	AttemptDelay time.Duration

	// BindToDevice says when an attempt also binds its socket to its source's
	// interface (SO_BINDTODEVICE on Linux). The zero value, BindAuto, does so
	// only for pairs whose route leaves by another interface
	// (pairs.Pair.EgressMismatch), and binds the source address alone where
	// that is refused. See BindMode.
	BindToDevice BindMode

	// Selector ranks the pairs and learns from every attempt's outcome. Nil
	// means pairs.Default(), the process-wide Selector, started at the first
	// dial.
	Selector *pairs.Selector

	// Logger receives debug logs of every attempt, under the name "dialer". Nil
	// means no logging.
	Logger *zap.Logger

	// TLSConfig is the configuration of DialTLSContext's handshakes. Nil means
	// a zero tls.Config; an empty ServerName means the host of the address, as
	// with tls.Dialer. Its NextProtos are sent as they are, and are the
	// protocols an HTTPS record's endpoint must offer one of.
	TLSConfig *tls.Config

	// ECH makes DialTLSContext use Encrypted Client Hello (RFC 9849) where
	// the host's HTTPS record offers it (its ech parameter): the handshake of
	// an attempt then waits for the HTTPS answer (the draft's rule for a
	// client that relies on SVCB for its ClientHello), and fails with a
	// *tls.ECHRejectionError if the server rejects ECH. When every usable
	// HTTPS record offers ECH, the host's addresses that no record covers
	// are not tried: the dial never falls back to a cleartext ClientHello
	// (pairs.Query.ECH). The wait for the HTTPS answer is bounded: when it
	// has not come within a grace after the A or AAAA answer (twice the time
	// that took, 250 ms to 2 s), as from a resolver, home router or firewall
	// that drops HTTPS queries, the dial goes on as with no record, without
	// ECH (the DNS is not protected: an unanswered lookup is a failed one,
	// not a reason to fail the dial), and the Selector remembers that
	// resolver for 5 minutes, so that the next dials do not wait for it.
	// False leaves TLSConfig's EncryptedClientHelloConfigList as it is.
	ECH bool

	// mptcp is what SetMultipathTCP asked: 0 nothing (net's default), else
	// mptcpOn or mptcpOff.
	mptcp uint8
}

// The values of PairDialer.mptcp.
const (
	mptcpOn  = 1
	mptcpOff = 2
)

// Compile-time checks of the function shapes PairDialer is used through:
// http.Transport.DialContext and the like.
var (
	_ func(context.Context, string, string) (net.Conn, error) = (*PairDialer)(nil).DialContext
	_ func(string, string) (net.Conn, error)                  = (*PairDialer)(nil).Dial
)

// Dial connects to the address on the named network. It is DialContext with
// context.Background().
func (d *PairDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

// DialContext connects to the address on the named network using the provided
// context, which must not be nil.
//
// The networks and addresses are those of net.Dial. For "tcp", "tcp4" and
// "tcp6" it asks the Selector for the pairs of the address's host, in racing
// order, and races them: it returns the first connection established and
// closes or cancels the others. For "udp", "udp4" and "udp6" there is no
// handshake to race: it connects the socket of the best pair whose route the
// kernel accepts. An empty host (the local system, ":80") and any other
// network are dialed by a net.Dialer with the same fields.
//
// Errors are *net.OpError values as net.Dialer returns them. A dial that made
// one attempt returns that attempt's error as net.Dialer would (Source set only
// when a source was bound). When several attempts failed, the OpError names the
// first pair and its Err is an *AttemptsError listing each attempt.
func (d *PairDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if ctx == nil {
		panic("nil context")
	}
	base := baseNetwork(network)
	if base == "" || localSystem(address) {
		return d.netDialer().DialContext(ctx, network, address)
	}
	ctx, cancel := d.dialCtx(ctx)
	defer cancel()
	q, err := d.query(ctx, network, base, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	return d.dialOver(ctx, q, base, address, d.selector(), nil)
}

// DialTCP connects to raddr over the named TCP network, as
// net.Dialer.DialTCP, but over pairs: laddr, when valid, restricts the
// sources as LocalAddr does (an unspecified address restricts only the port);
// otherwise the Selector's pairs to raddr race as in DialContext. An invalid
// raddr is the local system, dialed by a net.Dialer; so is a raddr of another
// family than network's or laddr's, and a dial whose context has ended or
// whose deadline has passed, which fail as net.Dialer's dial does.
func (d *PairDialer) DialTCP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.TCPConn, error) {
	if ctx == nil {
		panic("nil context") // as net.Dialer's, before anything else
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Source: net.TCPAddrFromAddrPort(laddr),
			Addr: net.TCPAddrFromAddrPort(raddr), Err: net.UnknownNetworkError(network)}
	}
	if netOnly(ctx, network, laddr, raddr) || d.deadlinePassed(ctx) {
		return d.netDialer().DialTCP(ctx, network, laddr, raddr)
	}
	c, err := d.dialAddrPort(ctx, network, "tcp", laddr, raddr)
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// DialUDP connects to raddr over the named UDP network, as
// net.Dialer.DialUDP, but from the best pair (see DialTCP for laddr and an
// invalid raddr).
func (d *PairDialer) DialUDP(ctx context.Context, network string, laddr, raddr netip.AddrPort) (*net.UDPConn, error) {
	if ctx == nil {
		panic("nil context") // as net.Dialer's, before anything else
	}
	switch network {
	case "udp", "udp4", "udp6":
	default:
		return nil, &net.OpError{Op: "dial", Net: network, Source: net.UDPAddrFromAddrPort(laddr),
			Addr: net.UDPAddrFromAddrPort(raddr), Err: net.UnknownNetworkError(network)}
	}
	if netOnly(ctx, network, laddr, raddr) || d.deadlinePassed(ctx) {
		return d.netDialer().DialUDP(ctx, network, laddr, raddr)
	}
	c, err := d.dialAddrPort(ctx, network, "udp", laddr, raddr)
	if err != nil {
		return nil, err
	}
	return c.(*net.UDPConn), nil
}

// DialIP is net.Dialer.DialIP with d's fields: IP networks are not dialed over
// pairs.
func (d *PairDialer) DialIP(ctx context.Context, network string, laddr, raddr netip.Addr) (*net.IPConn, error) {
	return d.netDialer().DialIP(ctx, network, laddr, raddr)
}

// DialUnix is net.Dialer.DialUnix with d's fields.
func (d *PairDialer) DialUnix(ctx context.Context, network string, laddr, raddr *net.UnixAddr) (*net.UnixConn, error) {
	return d.netDialer().DialUnix(ctx, network, laddr, raddr)
}

// MultipathTCP reports whether MPTCP will be used, as net.Dialer.MultipathTCP:
// what SetMultipathTCP asked, else the system default (GODEBUG multipathtcp).
// It does not check that the operating system supports MPTCP.
func (d *PairDialer) MultipathTCP() bool {
	switch d.mptcp {
	case mptcpOn:
		return true
	case mptcpOff:
		return false
	}
	var nd net.Dialer
	return nd.MultipathTCP()
}

// SetMultipathTCP directs every attempt of the TCP dials to use, or not use,
// MPTCP (RFC 8684) if supported by the operating system, as
// net.Dialer.SetMultipathTCP. Where MPTCP is not available on the host or not
// supported by the server, the attempts fall back to TCP. On a multi-homed host
// the attempt that wins sets up the first subflow over its own pair; the
// kernel's path manager may add more.
func (d *PairDialer) SetMultipathTCP(use bool) {
	d.mptcp = mptcpOff
	if use {
		d.mptcp = mptcpOn
	}
}

// netOnly reports whether DialTCP or DialUDP over network from laddr to raddr
// is left to net.Dialer, whose error it is: raddr is invalid, or the
// unspecified IPv6 address (the local system, which net.Dialer.DialTCP dials
// alone, where a Selector's pairs follow it with 0.0.0.0 as for the address
// "[::]:port": see Go issue 18806), or of another
// family than network's digit or than laddr's IP (net.Dialer's socket then
// fails at connect, or says "non-IPv4 address"; there is no pair to choose),
// or ctx has ended already (net.Dialer makes its socket, and calls Control,
// before it fails).
func netOnly(ctx context.Context, network string, laddr, raddr netip.AddrPort) bool {
	r, l := raddr.Addr(), laddr.Addr()
	last := network[len(network)-1]
	switch {
	case !r.IsValid(), r.WithZone("") == netip.IPv6Unspecified(),
		last == '4' && r.Is6() && !r.Is4In6(), last == '6' && (r.Is4() || r.Is4In6()):
		return true
	case ctx.Err() != nil:
		return true
	}
	return l.IsValid() && !l.IsUnspecified() && l.Unmap().Is4() != r.Unmap().Is4()
}

// deadlinePassed reports whether the deadline of a dial with ctx (ctx's,
// Deadline, Timeout) has passed: DialTCP and DialUDP leave it to net.Dialer,
// whose socket is made, and Control called, before it fails, as for a ctx
// already ended (see netOnly).
func (d *PairDialer) deadlinePassed(ctx context.Context) bool {
	now := time.Now()
	ctxDeadline, _ := ctx.Deadline()
	dl := earliestDeadline(now, d.Timeout, d.Deadline, ctxDeadline)
	return !dl.IsZero() && !dl.After(now)
}

// dialAddrPort is DialTCP and DialUDP once the network is checked. As
// net.Dialer's, they bind laddr and ignore the LocalAddr field: the dial is
// made by a copy of d whose LocalAddr is laddr (nil for the zero AddrPort).
// raddr is the caller's address, zone and all; an error that names no source
// names laddr, as net.Dialer's do (":0" for the zero AddrPort).
func (d *PairDialer) dialAddrPort(ctx context.Context, network, base string, laddr, raddr netip.AddrPort) (net.Conn, error) {
	dl := *d
	switch {
	case laddr == netip.AddrPort{}:
		dl.LocalAddr = nil
	case base == "tcp":
		dl.LocalAddr = net.TCPAddrFromAddrPort(laddr)
	default:
		dl.LocalAddr = net.UDPAddrFromAddrPort(laddr)
	}
	ctx, cancel := dl.dialCtx(ctx)
	defer cancel()
	local := netip.AddrPortFrom(laddr.Addr().Unmap(), laddr.Port())
	q := pairs.Query{Network: network, Host: raddr.Addr().Unmap().String(), Port: raddr.Port(), Local: local, Resolver: dl.Resolver}
	c, err := dl.dialOver(ctx, q, base, raddr.String(), dl.selector(), nil)
	if oe, ok := err.(*net.OpError); ok && oe.Source == nil {
		if base == "tcp" {
			oe.Source = net.TCPAddrFromAddrPort(laddr)
		} else {
			oe.Source = net.UDPAddrFromAddrPort(laddr)
		}
	}
	return c, err
}

// selector is what a dial needs of a *pairs.Selector.
type selector interface {
	Attempts(ctx context.Context, q pairs.Query) ([]pairs.Pair, error)
	Report(o probe.Outcome)
}

func (d *PairDialer) selector() selector {
	if d.Selector != nil {
		return d.Selector
	}
	return pairs.Default()
}

// streamer is a selector that hands out the pairs of a name as its DNS
// answers arrive (*pairs.Selector).
type streamer interface {
	Stream(ctx context.Context, q pairs.Query) (*pairs.Stream, error)
}

// allPairs waits until every answer of st is in (or ctx is done) and takes
// its pairs.
func allPairs(ctx context.Context, st *pairs.Stream) []pairs.Pair {
	for {
		changed := st.Changed() // before Done: see Changed
		if st.Done() {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	var ps []pairs.Pair
	for p, ok := st.Next(); ok; p, ok = st.Next() {
		ps = append(ps, p)
	}
	return ps
}

// dialOver gets the pairs for q from sel and connects over them; address is
// the caller's, "" when it gave none as text; with tc, an attempt succeeds
// when its TLS handshake with tc is done. A TCP dial to a name takes
// its pairs from a pairs.Stream when sel has them (so that pairs whose DNS
// answers arrive late join the race, and the HTTPS records and ECH apply);
// with FallbackDelay negative it waits for every answer (the whole first
// family first needs the whole list at once).
func (d *PairDialer) dialOver(ctx context.Context, q pairs.Query, base, address string, sel selector, tc *tls.Config) (net.Conn, error) {
	var (
		qu queue        // a Stream; nil: ps, a fixed list
		ps []pairs.Pair // the pairs from Attempts
	)
	service := func(_ context.Context, p pairs.Pair) (*pairs.Service, error) { return p.Service, nil }
	if s, ok := sel.(streamer); ok && base == "tcp" && !isLiteral(q.Host) {
		st, err := s.Stream(ctx, q)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: q.Network, Err: err}
		}
		defer st.Close()
		qu, service = st, st.Service
		if d.FallbackDelay < 0 {
			ps, qu = firstFamilyFirst(allPairs(ctx, st)), nil
		}
	} else {
		var err error
		if ps, err = sel.Attempts(ctx, q); err != nil {
			return nil, &net.OpError{Op: "dial", Net: q.Network, Err: err}
		}
		if d.FallbackDelay < 0 {
			ps = firstFamilyFirst(ps)
		}
	}
	lit, _ := netip.ParseAddrPort(address) // the caller's literal; invalid for a name
	ps = withoutIPv4Zero(ps, lit)
	first, ok := firstPair(qu, ps)
	if !ok {
		return nil, &net.OpError{Op: "dial", Net: q.Network, Err: d.noSuitableAddress(q)}
	}
	if lit.IsValid() && sameDst(lit, first.Dst) {
		first.Dst = lit // the caller's literal, zone and all, for the errors below
	}
	if ctx.Err() != nil {
		// Ended before any attempt: net.Dialer's own error for that, which it
		// returns without making a socket.
		return d.netDialer().DialContext(ctx, q.Network, first.Dst.String())
	}
	log := d.logger()
	var c net.Conn
	var err error
	switch {
	case qu == nil && base == "udp":
		a := new(attempt)
		a.init(d, q, base, address, lit, log)
		c, err = d.connectUDP(ctx, ps, a.dial, traceFrom(ctx))
	case qu == nil && len(ps) == 1 && tc == nil:
		// Apart from the race below, so that nothing of this one escapes
		// to the heap: a single attempt starts no goroutine.
		var a attempt
		a.init(d, q, base, address, lit, log)
		r := race{dial: a.dial, report: sel.Report, result: probe.ResultOf, trace: traceFrom(ctx), log: log}
		c, err = r.one(ctx, ps[0])
	default:
		if qu == nil {
			qu = &list{ps: ps}
		}
		a := new(attempt)
		a.init(d, q, base, address, lit, log)
		r := &race{queue: qu, dial: a.dial, report: sel.Report, result: probe.ResultOf,
			delay: d.attemptDelay(q), fallback: d.FallbackDelay, trace: traceFrom(ctx), hooks: a.gate, log: log}
		if tc != nil {
			r.handshake = d.handshaker(tc, service)
		}
		c, err = r.run(ctx)
	}
	if err != nil {
		return nil, d.dialError(q.Network, base, asksLocal(q), first, err)
	}
	return c, nil
}

// attemptDelay returns the race's AttemptDelay for q: negative (serial) when
// q binds a fixed local port, which two attempts cannot both bind, or when
// FallbackDelay disables Fast Fallback and AttemptDelay is not set, as
// net.Dialer then dials its addresses one at a time.
func (d *PairDialer) attemptDelay(q pairs.Query) time.Duration {
	if q.Local.Port() != 0 || d.FallbackDelay < 0 && d.AttemptDelay == 0 {
		return -1
	}
	return d.AttemptDelay
}

// firstPair returns the first pair of a dial: qu's next, or when qu is nil,
// ps's first.
func firstPair(qu queue, ps []pairs.Pair) (pairs.Pair, bool) {
	if qu != nil {
		return qu.Peek()
	}
	if len(ps) == 0 {
		return pairs.Pair{}, false
	}
	return ps[0], true
}

// withoutIPv4Zero returns ps without its pairs to 0.0.0.0 when lit, the
// caller's literal, is the unspecified IPv6 address and ps has a pair to it:
// the attempt over that pair dials the caller's "[::]:port", which net.Dialer
// follows with 0.0.0.0 itself (Go issue 18806), as it does for the caller's
// own dial. The Selector's pairs to 0.0.0.0 after "::" stand for that
// fallback; dialed again, they would call Control, and fail, once more than
// net.Dialer's dial does. ps is not changed (the Selector may keep it).
func withoutIPv4Zero(ps []pairs.Pair, lit netip.AddrPort) []pairs.Pair {
	if lit.Addr().WithZone("") != netip.IPv6Unspecified() ||
		!slices.ContainsFunc(ps, func(p pairs.Pair) bool { return sameDst(lit, p.Dst) }) {
		return ps
	}
	return slices.DeleteFunc(slices.Clone(ps), func(p pairs.Pair) bool { return p.Dst.Addr() == netip.IPv4Unspecified() })
}

// isLiteral reports whether host is an IP address (possibly with a zone):
// there is nothing to look up, so no Stream is needed.
func isLiteral(host string) bool {
	_, err := netip.ParseAddr(host)
	return err == nil
}

// dialError is the error of a dial whose attempts failed: the attempt's own
// error, as net.Dialer would return it, when only one was made (the others
// not started before the deadline: net.Dialer too returns its first address's
// error then); else a *net.OpError naming the first pair, wrapping err.
func (d *PairDialer) dialError(network, base string, local bool, first pairs.Pair, err error) error {
	if ae, ok := err.(*AttemptsError); ok && len(ae.Attempts) == 1 {
		if oe, ok := ae.Attempts[0].Err.(*net.OpError); ok {
			return oe
		}
	}
	return &net.OpError{Op: "dial", Net: network, Source: d.bindAddr(first, base, local), Addr: first.RemoteAddr(base), Err: err}
}

// firstFamilyFirst returns ps with, in each of its service groups (the pairs
// of one HTTPS record, in the order given; the host's own addresses), the
// pairs of the group's first family first: net.Dialer's primaries, then its
// fallbacks, for FallbackDelay < 0, without moving a pair ahead of a better
// record's (HEv3: a group's pairs start before the next group's).
func firstFamilyFirst(ps []pairs.Pair) []pairs.Pair {
	out := make([]pairs.Pair, 0, len(ps))
	for len(ps) > 0 {
		n := 1
		for n < len(ps) && sameService(ps[n].Service, ps[0].Service) {
			n++
		}
		group := ps[:n]
		for _, same := range []bool{true, false} {
			for _, p := range group {
				if (p.RacesAs6() == group[0].RacesAs6()) == same {
					out = append(out, p)
				}
			}
		}
		ps = ps[n:]
	}
	return out
}

// sameService reports whether a and b are the same HTTPS record's (both nil:
// no record's).
func sameService(a, b *pairs.Service) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Priority == b.Priority && a.Target == b.Target
}

// dialCtx applies Timeout, Deadline and Cancel to ctx, as net.Dialer does.
// The returned func releases what it made (the goroutine watching Cancel
// ends).
func (d *PairDialer) dialCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctxDeadline, hasDeadline := ctx.Deadline()
	dl := earliestDeadline(time.Now(), d.Timeout, d.Deadline, ctxDeadline)
	cancel := func() {}
	if !dl.IsZero() && (!hasDeadline || dl.Before(ctxDeadline)) {
		ctx, cancel = context.WithDeadline(ctx, dl)
	}
	if d.Cancel == nil {
		return ctx, cancel
	}
	ctx, cancel2 := context.WithCancel(ctx)
	go func(c <-chan struct{}) {
		select {
		case <-c:
			cancel2()
		case <-ctx.Done():
		}
	}(d.Cancel)
	return ctx, func() { cancel2(); cancel() }
}

// earliestDeadline returns the earliest of now+timeout (when timeout is not
// zero, negative included, like net.Dialer), deadline and ctxDeadline, ignoring
// zero times; zero if all are zero.
func earliestDeadline(now time.Time, timeout time.Duration, deadline, ctxDeadline time.Time) time.Time {
	var earliest time.Time
	if timeout != 0 {
		earliest = now.Add(timeout)
	}
	for _, t := range [...]time.Time{deadline, ctxDeadline} {
		if !t.IsZero() && (earliest.IsZero() || t.Before(earliest)) {
			earliest = t
		}
	}
	return earliest
}

// netDialer returns a net.Dialer with d's fields, for what PairDialer does not
// dial over pairs.
func (d *PairDialer) netDialer() *net.Dialer {
	nd := &net.Dialer{
		Timeout:         d.Timeout,
		Deadline:        d.Deadline,
		LocalAddr:       d.LocalAddr,
		DualStack:       d.DualStack, //lint:ignore SA1019 passed on as given
		FallbackDelay:   d.FallbackDelay,
		KeepAlive:       d.KeepAlive,
		KeepAliveConfig: d.KeepAliveConfig,
		Resolver:        d.Resolver,
		Cancel:          d.Cancel, //lint:ignore SA1019 passed on as given
		Control:         d.Control,
		ControlContext:  d.ControlContext,
	}
	if d.mptcp != 0 {
		nd.SetMultipathTCP(d.mptcp == mptcpOn)
	}
	return nd
}

// nopLogger is the logger of the dials of a PairDialer without one. It is
// never changed.
var nopLogger = zap.NewNop()

// logger returns the logger of one dial: nopLogger when d has none.
func (d *PairDialer) logger() *zap.Logger {
	if d.Logger == nil {
		return nopLogger
	}
	return d.Logger.Named("dialer")
}
