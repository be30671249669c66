package probe

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/sockopt"
	"github.com/getapr/getapr/netstate"
)

// Defaults of ProberConfig.
const (
	DefaultProbePort       = 80
	DefaultInterval        = 10 * time.Second
	DefaultQuietInterval   = time.Minute
	DefaultProbeTimeout    = 5 * time.Second
	DefaultConcurrency     = 8
	DefaultMaxDestinations = 20
)

// The quiet budget (ProberConfig.Quiet).
const (
	// QuietWantTTL is how long a destination the application asked for stays a
	// target of a quiet Prober after the last time it was asked for.
	QuietWantTTL = 5 * time.Minute
	// quietWantDelay is how long a quiet Prober waits after a new destination
	// was asked for before probing it: the application's own connect is measured
	// by then, and its path is not probed again.
	quietWantDelay = 2 * time.Second
)

// minRoundGap is the least time between the starts of two rounds.
const minRoundGap = time.Second

// maxQueued bounds the paths waiting to be probed; past it, new ones are dropped
// (they come again in a later round).
const maxQueued = 4096

// ProberConfig configures a Prober. Only Candidates is required.
type ProberConfig struct {
	// Candidates returns the pairs to probe for a destination, for every usable
	// source including dead ones (the Prober leaves dead sources to their backoff
	// re-checks itself). It is called from the Prober's goroutine and must not call
	// back into the Prober. Required.
	Candidates func(dst netip.AddrPort) []Path
	// Targets are destinations that are always probed (an option, or
	// GETAPR_PROBE_TARGETS); they count towards MaxDestinations but are never
	// dropped.
	Targets []netip.AddrPort
	// Port is the TCP port the default gateways are probed on; zero means 80.
	Port uint16
	// Interval is the time between two rounds when nothing changes, with ±10%
	// jitter. Zero means 10 s, or 1 minute when Quiet.
	Interval time.Duration
	// Timeout bounds each connect; zero means 5 s.
	Timeout time.Duration
	// Concurrency bounds the connects in flight; zero means 8. At most half of
	// them (at least one) go to other destinations than those asked for (Want),
	// and the two kinds take turns, so that asked-for destinations never wait
	// behind the rest.
	Concurrency int
	// MaxDestinations caps the destinations probed: the default gateways, Targets
	// and the Atlas anchors are kept, and of the destinations passed to Want the
	// most recently asked for fill the rest. Zero means 20.
	MaxDestinations int
	// Dial connects over one path. Zero means a TCP connect bound to Src (zone
	// honoured) and, where permitted, to Src's interface (SO_BINDTODEVICE).
	Dial func(ctx context.Context, p Path) (net.Conn, error)
	// Atlas, when not nil, adds one IPv6 and one IPv4 RIPE Atlas anchor to the
	// targets, picked at random and refreshed. Nil means off.
	Atlas *AtlasConfig
	// Quiet limits probing to what the application asked for (see the package
	// documentation): the destinations passed to Want in the last QuietWantTTL,
	// only when they have more than one candidate source, at most once per path
	// per Interval (1 minute) and not over a path the application itself used
	// in that time; Targets and Atlas anchors as configured; the default
	// gateways only after WantStatus. Re-checks of dead and suspect sources are
	// made in both modes. False probes as the prototype did: every Interval
	// (10 s), the gateways, the targets and the destinations asked for.
	Quiet bool
	// Logger receives the Prober's logs (named "prober"); nil logs nothing.
	Logger *zap.Logger
}

// ProberStats are the Prober's counters.
type ProberStats struct {
	Rounds   uint64 // probing rounds started: scheduled, early and re-checks
	Connects uint64 // connects started
	InFlight int    // connects under way now
	Targets  int    // destinations in the target list now
	Queued   int    // paths waiting for a connect
}

// Prober probes the paths out of the host in the background and reports every
// outcome to its Store. It does not follow the Watcher itself: its owner passes
// every snapshot to the Store (Store.Observe) and then the change to the Prober
// (Changed), which makes an early round and re-checks what came back. It probes
// nothing but the default gateways, the configured targets, the destinations
// passed to Want, and the Atlas anchors if enabled.
//
// Its goroutines are bounded: one loop, one Atlas refresher when enabled, and at
// most Concurrency workers, which exist only while there are paths to probe.
type Prober struct {
	store *Store
	w     netstate.Watcher
	cfg   ProberConfig
	log   *zap.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kick   chan struct{} // wakes the loop: a change, a Want, new anchors
	first  chan struct{} // closed when the first full round with status has completed

	closeOnce sync.Once

	rounds, connects atomic.Uint64
	inFlight         atomic.Int64
	device           sockopt.Device // whether SO_BINDTODEVICE was refused: then do without

	mu        sync.Mutex
	changed   bool                         // a change since the last full round
	wanted    map[netip.AddrPort]time.Time // destinations asked for, when last asked
	pending   map[netip.AddrPort]struct{}  // waiting for an early round
	pendingAt map[netip.AddrPort]time.Time // when a destination asked for became pending
	lastDst   map[netip.AddrPort]time.Time // when a destination was last in a round
	lastProbe map[Path]time.Time           // when a path was last probed
	lastWant  time.Time                    // when the application last asked
	anchors   []netip.AddrPort             // the current Atlas anchors
	ntargets  int                          // size of the last target list
	status    bool                         // the status flags were asked for: probe the gateways
	firstDone bool                         // first is closed or armed
	q         queue
}

// NewProber starts a Prober that reports to s, reading the host from w. Its first
// round starts at once. It panics if cfg.Candidates is nil.
//
// The Prober does not subscribe to w: its owner feeds the Store and the Prober,
//
//	w.Subscribe(func(snap *netstate.Snapshot) {
//		d := netstate.Changes(last, snap)
//		s.Observe(snap)
//		p.Changed(d)
//		last = snap
//	})
//
// which pairs.Selector does.
func NewProber(s *Store, w netstate.Watcher, cfg ProberConfig) *Prober {
	if cfg.Candidates == nil {
		panic("probe: NewProber without Candidates")
	}
	cfg = cfg.withDefaults()
	p := &Prober{
		store:     s,
		w:         w,
		cfg:       cfg,
		log:       zap.NewNop(),
		kick:      make(chan struct{}, 1),
		first:     make(chan struct{}),
		wanted:    make(map[netip.AddrPort]time.Time),
		pending:   make(map[netip.AddrPort]struct{}),
		pendingAt: make(map[netip.AddrPort]time.Time),
		lastDst:   make(map[netip.AddrPort]time.Time),
		lastProbe: make(map[Path]time.Time),
		status:    !cfg.Quiet,
		q:         newQueue(),
	}
	if cfg.Logger != nil {
		p.log = cfg.Logger.Named("prober")
	}
	if p.cfg.Dial == nil {
		p.cfg.Dial = p.dialTCP
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	s.Observe(w.Snapshot())
	if cfg.Atlas != nil {
		p.wg.Go(func() { p.runAtlas(*cfg.Atlas) })
	}
	p.wg.Go(p.run)
	return p
}

// withDefaults fills in the zero fields.
func (c ProberConfig) withDefaults() ProberConfig {
	if c.Port == 0 {
		c.Port = DefaultProbePort
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
		if c.Quiet {
			c.Interval = DefaultQuietInterval
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultProbeTimeout
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.MaxDestinations <= 0 {
		c.MaxDestinations = DefaultMaxDestinations
	}
	return c
}

// Changed tells the Prober that the host changed, after the Store has observed
// the new snapshot: a change that matters to probing (see
// netstate.ChangeDelta.Probing) makes an early full round, and the re-checks the
// Store scheduled for what came back start at once.
func (p *Prober) Changed(d netstate.ChangeDelta) {
	if d.Probing() {
		p.mu.Lock()
		p.changed = true
		p.mu.Unlock()
	}
	p.wake()
}

// wake makes the loop look again without blocking.
func (p *Prober) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Want tells the Prober that the application asked for dst. Unless dst was probed
// within the last Interval, it is probed from every candidate source within a
// second (quiet: after two seconds, and only when it has more than one candidate
// source). It then stays a target while it is among the most recently asked for
// (quiet: for QuietWantTTL after it was last asked for). While the application
// asks, dead sources that would rank first and paths that were faster earlier are
// re-checked at least every RecheckBusy. A cloud metadata address (see
// CheckProbeTarget) is never probed.
func (p *Prober) Want(dst netip.AddrPort) {
	if !dst.IsValid() {
		return
	}
	now := time.Now()
	snap := p.w.Snapshot()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastWant.IsZero() || now.Sub(p.lastWant) >= RecheckBusy {
		// Idle until now: the loop looks at the re-checks again, busy (see
		// Store.Recheck), whatever this destination needs.
		defer p.wake()
	}
	p.lastWant = now
	if metadata(dst.Addr()) {
		return // the application's to dial, never probed (see CheckProbeTarget)
	}
	if !p.kept(snap, dst) {
		p.wanted[dst] = now
		p.capWanted(snap)
		if _, ok := p.wanted[dst]; !ok {
			return
		}
	}
	if last, ok := p.lastDst[dst]; ok && now.Sub(last) < p.cfg.Interval {
		return
	}
	if _, ok := p.pending[dst]; !ok {
		p.pending[dst] = struct{}{}
		p.pendingAt[dst] = now
	}
	p.wake()
}

// WantStatus tells the Prober that the status flags were asked for: a quiet
// Prober then probes the default gateways too, and WaitRound waits for a round
// that includes them. A Prober that is not quiet probes them anyway.
func (p *Prober) WantStatus() {
	p.mu.Lock()
	was := p.status
	p.status, p.changed = true, p.changed || !was
	p.mu.Unlock()
	if !was {
		p.wake()
	}
}

// WaitRound returns when the first full round of probes (for a quiet Prober, the
// first after WantStatus) has completed, ctx's error if ctx is done first, or
// net.ErrClosed if the Prober was closed first.
func (p *Prober) WaitRound(ctx context.Context) error {
	select {
	case <-p.first:
		return nil
	default:
	}
	select {
	case <-p.first:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.ctx.Done():
		return net.ErrClosed
	}
}

// Stats returns the Prober's counters.
func (p *Prober) Stats() ProberStats {
	p.mu.Lock()
	n, q := p.ntargets, p.q.len()
	p.mu.Unlock()
	return ProberStats{
		Rounds:   p.rounds.Load(),
		Connects: p.connects.Load(),
		InFlight: int(p.inFlight.Load()),
		Targets:  n,
		Queued:   q,
	}
}

// Targets returns the destinations the Prober probes now: the kept ones (default
// gateways, configured targets, Atlas anchors) first, then the asked-for ones, most
// recently asked first.
func (p *Prober) Targets() []netip.AddrPort {
	snap := p.w.Snapshot()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.targets(snap, time.Now())
}

// Close stops probing and waits for the Prober's goroutines and connects to end.
// It is idempotent and returns nil.
func (p *Prober) Close() error {
	p.closeOnce.Do(func() {
		p.cancel()
		p.wg.Wait()
	})
	return nil
}
