package dialer

import (
	"context"
	"net"
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

	// LocalAddr restricts the sources: when its IP is set, only pairs from that
	// address are tried (an unspecified IP restricts the family only); when its
	// port is not zero, every attempt binds that port, so two attempts from one
	// source cannot overlap (the second bind fails and the next pair starts).
	// It must be a *net.TCPAddr for TCP networks and a *net.UDPAddr for UDP
	// ones. Nil means any source and an ephemeral port.
	LocalAddr net.Addr

	// KeepAlive is the interval between TCP keep-alive probes on the connection,
	// as in net.Dialer: zero means the default (15 s where supported), negative
	// disables them. It is ignored when KeepAliveConfig.Enable is true.
	KeepAlive time.Duration

	// KeepAliveConfig configures TCP keep-alive probes as in net.Dialer. Its zero
	// value leaves the choice to KeepAlive.
	KeepAliveConfig net.KeepAliveConfig

	// Resolver looks up host names and service names. Nil means
	// net.DefaultResolver.
	Resolver *net.Resolver

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
}

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
// kernel accepts. Any other network is dialed by a net.Dialer with the same
// fields.
//
// Errors are *net.OpError values as net.Dialer returns them. When every attempt
// failed, the OpError names the best pair's source and destination and its Err
// is an *AttemptsError listing each attempt.
func (d *PairDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	base := baseNetwork(network)
	if base == "" {
		return d.netDialer().DialContext(ctx, network, address)
	}
	if ctx == nil {
		panic("nil context")
	}
	ctx, cancel := d.dialCtx(ctx)
	defer cancel()
	q, err := d.query(ctx, network, base, address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	return d.dialQuery(ctx, q, base, d.selector())
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

// dialQuery gets the pairs for q from sel and connects over them.
func (d *PairDialer) dialQuery(ctx context.Context, q pairs.Query, base string, sel selector) (net.Conn, error) {
	ps, err := sel.Attempts(ctx, q)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: q.Network, Err: err}
	}
	if len(ps) == 0 {
		return nil, &net.OpError{Op: "dial", Net: q.Network, Err: d.noSuitableAddress(q)}
	}
	log := d.logger()
	var c net.Conn
	if base == "udp" {
		c, err = d.connectUDP(ctx, ps, traceFrom(ctx), log)
	} else {
		r := race{pairs: ps, dial: d.attemptFunc(base, log), report: sel.Report,
			result: probe.ResultOf, delay: d.AttemptDelay, trace: traceFrom(ctx), log: log}
		c, err = r.run(ctx)
	}
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: q.Network, Source: ps[0].LocalAddr(base),
			Addr: ps[0].RemoteAddr(base), Err: err}
	}
	return c, nil
}

// dialCtx applies Timeout and Deadline to ctx, as net.Dialer does.
func (d *PairDialer) dialCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctxDeadline, hasDeadline := ctx.Deadline()
	dl := earliestDeadline(time.Now(), d.Timeout, d.Deadline, ctxDeadline)
	if dl.IsZero() || hasDeadline && !dl.Before(ctxDeadline) {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, dl)
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

// netDialer returns a net.Dialer with d's fields, for the networks PairDialer
// does not race.
func (d *PairDialer) netDialer() *net.Dialer {
	return &net.Dialer{
		Timeout:         d.Timeout,
		Deadline:        d.Deadline,
		LocalAddr:       d.LocalAddr,
		KeepAlive:       d.KeepAlive,
		KeepAliveConfig: d.KeepAliveConfig,
		Resolver:        d.Resolver,
		Control:         d.Control,
		ControlContext:  d.ControlContext,
	}
}

// logger returns the logger of one dial; nil when d has none.
func (d *PairDialer) logger() *zap.Logger {
	if d.Logger == nil {
		return nil
	}
	return d.Logger.Named("dialer")
}
