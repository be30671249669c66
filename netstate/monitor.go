package netstate

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// backend is what a Monitor needs from the operating system.
type backend interface {
	// dump reads the whole host state. Generation is left zero. resync is true
	// when the state changed while it was read, so another dump should follow.
	dump() (snap *Snapshot, resync bool, err error)
	// listen subscribes to change events. An error means there are none: the
	// Monitor polls instead.
	listen() error
	// read calls notify for each relevant change event until close is called; it
	// returns the error that stopped it (any error after close is ignored).
	read(notify func()) error
	// routeFor asks the system how a packet from src to dst would leave; cur is the
	// Monitor's current snapshot.
	routeFor(ctx context.Context, cur *Snapshot, src, dst netip.Addr) (Decision, error)
	// close releases the backend and unblocks read. It is called once.
	close() error
}

// updater is a backend that can build the next snapshot from the current one
// (on Linux, by applying route events to it) rather than reading the whole
// host again.
type updater interface {
	// update is dump, knowing that cur is the current snapshot.
	update(cur *Snapshot) (snap *Snapshot, resync bool, err error)
}

// degradable is a backend that has a lesser one to hand over to when its
// first dump fails.
type degradable interface {
	// fallback returns the backend to use instead, or nil if there is none;
	// why is the first dump's error.
	fallback(why error) backend
}

// Monitor is the live view of the host: the real Watcher. On Linux it follows the
// kernel's rtnetlink change events; elsewhere it polls the standard library's
// interface list. The zero value is not usable: call New.
type Monitor struct {
	log    *zap.Logger
	cfg    config
	be     backend
	snap   atomic.Pointer[Snapshot]
	subs   subscribers
	wake   chan struct{} // a change event arrived; capacity 1, so events coalesce
	lost   chan struct{} // closed when change events stop and polling must take over
	stop   context.CancelFunc
	wg     sync.WaitGroup
	close  sync.Once
	closed atomic.Bool // Close was called: RouteFor fails with net.ErrClosed
	err    error       // from be.close, returned by every Close
}

var _ Watcher = (*Monitor)(nil)

// New reads the host's current state and starts watching it for changes. The
// Monitor must be closed when no longer needed.
func New(opts ...Option) (*Monitor, error) {
	cfg := newConfig(opts)
	be := cfg.backend
	if be == nil {
		var err error
		if be, err = newBackend(cfg); err != nil {
			return nil, err
		}
	}
	// Subscribe before the first dump, so no change falls between the two.
	listenErr := be.listen()
	snap, _, err := be.dump()
	if d, ok := be.(degradable); ok && err != nil {
		if fb := d.fallback(err); fb != nil {
			be.close()
			be = fb
			listenErr = be.listen()
			snap, _, err = be.dump()
		}
	}
	if err != nil {
		be.close()
		return nil, err
	}
	snap.Generation = max(cfg.firstGen, 1)
	ctx, stop := context.WithCancel(context.Background())
	m := &Monitor{
		log:  cfg.log,
		cfg:  cfg,
		be:   be,
		wake: make(chan struct{}, 1),
		lost: make(chan struct{}),
		stop: stop,
	}
	m.snap.Store(snap)
	polling := listenErr != nil
	switch {
	case errors.Is(listenErr, errNoEvents): // expected: the backend polls
	case polling:
		m.log.Warn("change events unavailable, polling instead", zap.Error(listenErr), zap.Duration("interval", cfg.poll))
	}
	m.wg.Go(func() { m.loop(ctx, polling) })
	if !polling {
		m.wg.Go(func() { m.read(ctx) })
	}
	return m, nil
}

// Snapshot returns the current snapshot: an atomic load, never nil.
func (m *Monitor) Snapshot() *Snapshot { return m.snap.Load() }

// PREF64s returns the current snapshot's NAT64 prefixes, each from a Router
// Advertisement with the expiry its last RA set: an RA that only refreshes a
// prefix's lifetime changes no snapshot, whose PREF64s keep the expiry they
// were built with. A Monitor that replaces this one learns them with
// WithPREF64s.
func (m *Monitor) PREF64s() []PREF64 {
	snap := m.Snapshot()
	if l, ok := m.be.(interface{ pref64s(*Snapshot) []PREF64 }); ok {
		return l.pref64s(snap)
	}
	return slices.Clone(snap.PREF64s)
}

// Subscribe calls fn with every new snapshot until unsubscribe is called. The calls
// come from the Monitor's own goroutine, one at a time, in generation order; while
// fn runs no newer snapshot is built, so fn must return quickly; it must not call
// Close (Close waits for it).
func (m *Monitor) Subscribe(fn func(*Snapshot)) (unsubscribe func()) {
	return m.subs.add(fn)
}

// RouteFor asks the kernel how a packet from src to dst would leave the host. A
// zero or unspecified src lets the kernel choose one (returned in Decision.Src). A
// zone on a link-local dst or src selects the interface. When the kernel would not
// send such a packet the error is a *RouteError; a src that is not a usable local
// address is BadSource. Other failures are *net.OpError, wrapping net.ErrClosed
// once Close was called. See the OS-specific notes in the package documentation.
func (m *Monitor) RouteFor(ctx context.Context, src, dst netip.Addr) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	if m.closed.Load() {
		return Decision{}, &net.OpError{Op: "route", Net: "ip", Source: ipAddr(src), Addr: ipAddr(dst), Err: net.ErrClosed}
	}
	return m.be.routeFor(ctx, m.Snapshot(), src, dst)
}

// SolicitRouters sends one Router Solicitation (RFC 4861 section 6.3.7) to
// the all-routers address on each link of indexes, so that their routers
// advertise now instead of at their next unsolicited Router Advertisement,
// which may be minutes away; what the advertisement tells (a PREF64) reaches
// the snapshots as any RA's does. A process that starts after the last RA
// knows no NAT64 prefix until the next one: this is how it asks. It needs a
// raw ICMPv6 socket (CAP_NET_RAW): without one the error is an
// *os.SyscallError for "socket" that wraps os.ErrPermission; a link that
// could not send adds its own error ("link N: ..."). The socket is made in the
// Monitor's network namespace (WithNetNS). Elsewhere than Linux it returns
// errors.ErrUnsupported.
func (m *Monitor) SolicitRouters(indexes ...int) error {
	if m.closed.Load() {
		return net.ErrClosed
	}
	return solicitRouters(m.cfg.netns, indexes)
}

// Close stops watching and waits for the Monitor's goroutines to end. Subscribers
// are not called after Close returns. Close is idempotent; every call returns the
// same error.
func (m *Monitor) Close() error {
	m.close.Do(func() {
		m.closed.Store(true)
		m.stop()
		m.err = m.be.close()
		m.wg.Wait()
		m.subs.clear()
	})
	return m.err
}

// notify records that the host may have changed. It never blocks.
func (m *Monitor) notify() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// read runs the backend's event reader until Close.
func (m *Monitor) read(ctx context.Context) {
	err := m.be.read(m.notify)
	if ctx.Err() != nil {
		return
	}
	m.log.Warn("change events stopped, polling instead", zap.Error(err), zap.Duration("interval", m.cfg.poll))
	close(m.lost)
}

// loop rebuilds the snapshot when woken, debounced, or on every poll tick.
func (m *Monitor) loop(ctx context.Context, polling bool) {
	var (
		ticker *time.Ticker
		tick   <-chan time.Time
	)
	startPolling := func() {
		ticker = time.NewTicker(m.cfg.poll)
		tick = ticker.C
	}
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	if polling {
		startPolling()
	}
	lost := m.lost
	d := newDebouncer(m.cfg.quiet(), m.cfg.debounce)
	defer d.stop()
	// A failed rebuild is retried after a backoff that doubles up to the poll
	// interval: a dump that keeps failing must not spin.
	var (
		backoff time.Duration
		retry   *time.Timer
		retryC  <-chan time.Time
	)
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-lost:
			lost = nil
			startPolling()
		case <-tick:
			d.event(time.Now())
		case <-m.wake:
			d.event(time.Now())
		case <-retryC:
			retryC = nil
			d.event(time.Now())
		case <-d.C():
			if !d.fire() {
				continue
			}
			if err := m.rebuild(); err != nil {
				if backoff == 0 && ctx.Err() == nil {
					m.log.Warn("rebuilding the snapshot failed; retrying", zap.Error(err))
				}
				backoff = min(max(2*backoff, minRetry), m.cfg.poll)
				if retry == nil {
					retry = time.NewTimer(backoff)
				} else {
					retry.Reset(backoff)
				}
				retryC = retry.C
			} else if backoff != 0 {
				backoff = 0
				m.log.Info("rebuilding the snapshot works again")
			}
		}
	}
}

// minRetry is the first wait before a failed rebuild is made again.
const minRetry = 50 * time.Millisecond

// rebuild dumps the host and publishes the result if it differs from the current
// snapshot.
func (m *Monitor) rebuild() error {
	prev := m.snap.Load()
	s, resync, err := m.next(prev)
	if err != nil {
		return err
	}
	if resync {
		m.notify()
	}
	if Changes(prev, s).Same() {
		return nil
	}
	s.Generation = prev.Generation + 1
	m.snap.Store(s)
	m.log.Debug("host changed", zap.Uint64("generation", s.Generation),
		zap.Int("links", len(s.Links)), zap.Int("addrs", len(s.Addrs)), zap.Int("routes", len(s.Routes)))
	m.subs.publish(s)
	return nil
}

// next reads the host, prev being the current snapshot.
func (m *Monitor) next(prev *Snapshot) (*Snapshot, bool, error) {
	if u, ok := m.be.(updater); ok {
		return u.update(prev)
	}
	return m.be.dump()
}
