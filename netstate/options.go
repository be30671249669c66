package netstate

import (
	"time"

	"go.uber.org/zap"
)

// DefaultDebounce is the debounce of a Monitor made without WithDebounce.
const DefaultDebounce = 50 * time.Millisecond

// DefaultPollInterval is how often a Monitor without change events rebuilds its
// snapshot, unless WithPollInterval says otherwise.
const DefaultPollInterval = 5 * time.Second

// An Option configures a Monitor.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is what the options set. Its zero value is not used: see newConfig.
type config struct {
	log      *zap.Logger
	debounce time.Duration
	poll     time.Duration
	netns    int
	firstGen uint64   // Generation of the first snapshot; 0 means 1
	pref64   []PREF64 // RA prefixes a replaced Monitor had learned (WithPREF64s)
	backend  backend  // tests only; nil means the OS's own
}

func newConfig(opts []Option) config {
	c := config{log: zap.NewNop(), debounce: DefaultDebounce, poll: DefaultPollInterval}
	for _, o := range opts {
		o.apply(&c)
	}
	c.log = c.log.Named("netstate")
	return c
}

// quiet is how long the first change of a burst waits for more changes before the
// snapshot is rebuilt (the leading edge of the debounce): a tenth of the debounce,
// enough to gather the handful of messages one configuration command produces.
func (c config) quiet() time.Duration { return c.debounce / 10 }

// WithLogger makes the Monitor log to log (named "netstate"). A nil log, like the
// default, logs nothing.
func WithLogger(log *zap.Logger) Option {
	return optionFunc(func(c *config) {
		if log == nil {
			log = zap.NewNop()
		}
		c.log = log
	})
}

// WithDebounce sets the debounce of change events (default DefaultDebounce). The
// first change after a quiet period is published as soon as no further change has
// come for a tenth of d; after a rebuild, further changes are gathered for d before
// the next one. A burst of events thus costs at most one rebuild per d, and its
// final state is always published. Zero or less rebuilds on every wake-up.
func WithDebounce(d time.Duration) Option {
	return optionFunc(func(c *config) { c.debounce = max(d, 0) })
}

// WithPollInterval sets how often the snapshot is rebuilt when change events are
// not available: on systems other than Linux, or when the kernel refuses the
// netlink group subscription (default DefaultPollInterval). Zero or less keeps the
// default.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.poll = d
		}
	})
}

// WithNetNS makes the Monitor watch the network namespace whose file descriptor
// (for example from opening /var/run/netns/NAME) is fd, instead of the calling
// thread's. The caller keeps fd open while the Monitor is in use. Linux only: New
// fails with it elsewhere. Entering a namespace needs CAP_SYS_ADMIN.
func WithNetNS(fd int) Option {
	return optionFunc(func(c *config) { c.netns = fd })
}

// WithFirstGeneration makes the Monitor's first snapshot carry generation g
// (default 1), so that a Monitor started to replace a closed one continues its
// generations: subscribers that ignore older generations, or key caches by
// generation, see the new Monitor's snapshots as newer.
func WithFirstGeneration(g uint64) Option {
	return optionFunc(func(c *config) { c.firstGen = g })
}

// WithPREF64s gives the Monitor the NAT64 prefixes that a Monitor it replaces
// had learned from Router Advertisements (its last Snapshot.PREF64s), which a
// new Monitor could otherwise only learn from the next RA: such options cannot
// be dumped, and routers may send them only every few minutes. Each prefix of
// source PREF64RA that has not expired is its link's again until it expires or
// an RA replaces or withdraws it; the others are ignored. Like
// WithFirstGeneration, it lets a Monitor started to replace a closed one carry
// on. It has an effect on Linux only, where the Monitor follows RAs.
func WithPREF64s(ps []PREF64) Option {
	return optionFunc(func(c *config) { c.pref64 = ps })
}

// withBackend replaces the OS backend; for tests of the Monitor's own logic.
func withBackend(b backend) Option {
	return optionFunc(func(c *config) { c.backend = b })
}
