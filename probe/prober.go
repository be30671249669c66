package probe

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"

	"github.com/getapr/getapr/netstate"
)

// Defaults of ProberConfig.
const (
	DefaultProbePort       = 80
	DefaultInterval        = 10 * time.Second
	DefaultProbeTimeout    = 5 * time.Second
	DefaultConcurrency     = 8
	DefaultMaxDestinations = 20
)

// minRoundGap is the least time between the starts of two rounds.
const minRoundGap = time.Second

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
	// jitter; zero means 10 s.
	Interval time.Duration
	// Timeout bounds each connect; zero means 5 s.
	Timeout time.Duration
	// Concurrency bounds the connects in flight; zero means 8.
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
	// SharePath, when not empty, shares what the Store learns with the user's other
	// processes through that file (see Sharer; DefaultSharePath gives the usual
	// place). Empty means no sharing.
	SharePath string
	// Logger receives the Prober's logs (named "prober"); nil logs nothing.
	Logger *zap.Logger
}

// ProberStats are the Prober's counters.
type ProberStats struct {
	Rounds   uint64 // probing rounds started: scheduled, early and re-checks
	Connects uint64 // connects started
	InFlight int    // connects under way now
	Targets  int    // destinations in the target list now
}

// Prober probes the paths out of the host in the background and reports every
// outcome to its Store. It subscribes to the Watcher: a network change makes an
// early round and reaches the Store (Observe) before any probe of the new network.
// It probes nothing but the default gateways, the configured targets, the
// destinations passed to Want, and the Atlas anchors if enabled.
type Prober struct {
	store *Store
	w     netstate.Watcher
	cfg   ProberConfig
	log   *zap.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sem    *semaphore.Weighted
	kick   chan struct{} // wakes the loop: a change, a Want, new anchors
	first  chan struct{} // closed when the first full round has completed
	unsub  func()
	sharer *Sharer

	closeOnce sync.Once
	closeErr  error

	rounds, connects atomic.Uint64
	inFlight         atomic.Int64
	noBind           atomic.Bool // SO_BINDTODEVICE was refused: do without

	mu        sync.Mutex
	changed   bool                         // a new snapshot since the last full round
	seen      *netstate.Snapshot           // the last snapshot observed
	wanted    map[netip.AddrPort]time.Time // destinations asked for, when last asked
	pending   map[netip.AddrPort]struct{}  // asked for and not probed recently
	lastDst   map[netip.AddrPort]time.Time // when a destination was last in a round
	lastProbe map[Path]time.Time           // when a path was last probed
	inflight  map[Path]struct{}            // paths being probed now
	anchors   []netip.AddrPort             // the current Atlas anchors
	ntargets  int                          // size of the last target list
}

// NewProber starts a Prober that reports to s and watches w. Its first round starts
// at once. It panics if cfg.Candidates is nil.
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
		sem:       semaphore.NewWeighted(int64(cfg.Concurrency)),
		kick:      make(chan struct{}, 1),
		first:     make(chan struct{}),
		wanted:    make(map[netip.AddrPort]time.Time),
		pending:   make(map[netip.AddrPort]struct{}),
		lastDst:   make(map[netip.AddrPort]time.Time),
		lastProbe: make(map[Path]time.Time),
		inflight:  make(map[Path]struct{}),
	}
	if cfg.Logger != nil {
		p.log = cfg.Logger.Named("prober")
	}
	if p.cfg.Dial == nil {
		p.cfg.Dial = p.dialTCP
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.seen = w.Snapshot()
	s.Observe(p.seen)
	p.unsub = w.Subscribe(p.observe)
	if cfg.SharePath != "" {
		p.sharer = NewSharer(s, cfg.SharePath, WithShareLogger(cfg.Logger))
	}
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

// observe is the Watcher subscription: the Store learns of the change first, then
// the loop makes an early round if the change matters to probing.
func (p *Prober) observe(snap *netstate.Snapshot) {
	p.store.Observe(snap)
	p.mu.Lock()
	changed := p.seen == nil || differ(p.seen, snap)
	p.seen = snap
	p.changed = p.changed || changed
	p.mu.Unlock()
	if changed {
		p.wake()
	}
}

// differ reports whether two snapshots differ in what probing depends on: the
// default gateways, the addresses and their flags, the links' states.
func differ(a, b *netstate.Snapshot) bool {
	return a.Gateway4 != b.Gateway4 || a.Gateway6 != b.Gateway6 ||
		!slices.EqualFunc(a.Addrs, b.Addrs, func(x, y netstate.Addr) bool {
			return x.IP == y.IP && x.Index == y.Index && x.Flags == y.Flags
		}) ||
		!slices.EqualFunc(a.Links, b.Links, func(x, y netstate.Link) bool {
			return x.Index == y.Index && x.Up == y.Up && x.Running == y.Running
		})
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
// second. It then stays a target while it is among the most recently asked for.
func (p *Prober) Want(dst netip.AddrPort) {
	if !dst.IsValid() {
		return
	}
	now := time.Now()
	snap := p.w.Snapshot()
	p.mu.Lock()
	defer p.mu.Unlock()
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
	p.pending[dst] = struct{}{}
	p.wake()
}

// WaitRound returns when the first full round of probes has completed, ctx's error
// if ctx is done first, or net.ErrClosed if the Prober was closed first.
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
	n := p.ntargets
	p.mu.Unlock()
	return ProberStats{
		Rounds:   p.rounds.Load(),
		Connects: p.connects.Load(),
		InFlight: int(p.inFlight.Load()),
		Targets:  n,
	}
}

// Targets returns the destinations the Prober probes now: the kept ones (default
// gateways, configured targets, Atlas anchors) first, then the asked-for ones, most
// recently asked first.
func (p *Prober) Targets() []netip.AddrPort {
	snap := p.w.Snapshot()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.targets(snap)
}

// Close stops probing, waits for the Prober's goroutines and connects to end, and
// makes a last merge of the shared file if sharing is on (its error is returned).
// It is idempotent.
func (p *Prober) Close() error {
	p.closeOnce.Do(func() {
		p.unsub()
		p.cancel()
		p.wg.Wait()
		if p.sharer != nil {
			p.closeErr = p.sharer.Close()
		}
	})
	return p.closeErr
}
