package pairs

import (
	"context"
	"net"
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/nat64"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// Defaults of the options.
const (
	// DefaultIPv6Bias is how much lower an IPv6 pair's latency is counted when
	// ranking (the prototype's 5 ms).
	DefaultIPv6Bias = 5 * time.Millisecond
	// DefaultResolutionDelay is how long a lookup waits for AAAA after A has
	// answered (RFC 8305 section 8).
	DefaultResolutionDelay = 50 * time.Millisecond
	// DefaultFirstFamilyCount is how many pairs of the best pair's family are
	// tried before the other family (RFC 8305 section 8).
	DefaultFirstFamilyCount = 1
)

// config is what the options set.
type config struct {
	watcher  netstate.Watcher // nil: New starts a netstate.Monitor
	resolver *net.Resolver
	lookup   lookupFunc // tests only: replaces resolver
	// startWatcher starts the watcher of each start when watcher is nil:
	// newMonitor, or a test's.
	startWatcher     func(log *zap.Logger, first uint64, pref64 []netstate.PREF64) (netstate.Watcher, error)
	log              *zap.Logger
	probing          bool
	eager            bool          // probe as the prototype did (WithEagerProbing)
	idleStop         time.Duration // stop the goroutines after this long unused; 0: never
	targets          []netip.AddrPort
	dial             func(context.Context, probe.Path) (net.Conn, error)
	bias             time.Duration
	policy           PolicyTable
	firstFamilyCount int
	resolutionDelay  time.Duration
	sharing          string             // shared file; "" shares nothing
	atlas            *probe.AtlasConfig // nil: no RIPE Atlas anchors
	https            bool               // every Stream asks for HTTPS records
	httpsLookup      httpsFunc          // tests only: replaces the stub resolver
	pref64           []ConfiguredPREF64 // configured NAT64 prefixes (WithPREF64, GETAPR_PREF64)
}

func defaultConfig() config {
	return config{
		log:              zap.NewNop(),
		probing:          true,
		bias:             DefaultIPv6Bias,
		policy:           DefaultPolicyTable(),
		firstFamilyCount: DefaultFirstFamilyCount,
		resolutionDelay:  DefaultResolutionDelay,
	}
}

// Option configures a Selector.
type Option func(*config)

// WithWatcher makes the Selector read the host from w instead of starting its own
// netstate.Monitor. The Selector does not close w: its caller does.
func WithWatcher(w netstate.Watcher) Option { return func(c *config) { c.watcher = w } }

// WithResolver sets the resolver for names. The default, or a nil r, is
// net.DefaultResolver as it is at each lookup (a program may replace it after
// the Selector started, as net.Dialer sees that too).
func WithResolver(r *net.Resolver) Option {
	return func(c *config) {
		if r != nil {
			c.resolver = r
		}
	}
}

// WithLogger makes the Selector log to l, named "pairs"; its Monitor, Store and
// Prober log to l too. The default logs nothing.
func WithLogger(l *zap.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithoutProbing turns the background prober off: the ranking then learns only from
// the outcomes given to Report, and the Selector sends nothing of its own. Init
// returns at once.
func WithoutProbing() Option { return func(c *config) { c.probing = false } }

// WithEagerProbing makes the prober probe as the Python prototype did, and as
// status tools want (the CLI's status and watch): every 10 s, the default
// gateways, the probe targets and the destinations asked for (over TCP, on port
// 80 for those of LookupNetIP), from every candidate source. The default is quiet
// (see the package documentation: "What a Selector sends").
func WithEagerProbing() Option { return func(c *config) { c.eager = true } }

// WithIdleStop makes the Selector stop its goroutines (prober, sharer, the
// netstate Monitor it started) once no call has used it for d, keeping what it
// learned; the next call starts them again (see Selector.Suspend). Zero, the
// default of New, never stops them; the default Selector uses DefaultIdleStop.
func WithIdleStop(d time.Duration) Option { return func(c *config) { c.idleStop = max(d, 0) } }

// WithProbeTargets adds destinations the prober measures besides the default
// gateways and the destinations asked for.
func WithProbeTargets(targets ...netip.AddrPort) Option {
	return func(c *config) { c.targets = append(c.targets, targets...) }
}

// WithProbeDial replaces how the prober connects over a path (the default binds
// the source and makes a TCP connection). Tests use it to probe without a network.
func WithProbeDial(dial func(ctx context.Context, p probe.Path) (net.Conn, error)) Option {
	return func(c *config) { c.dial = dial }
}

// WithIPv6Bias sets how much lower an IPv6 pair's latency counts when ranking
// (default DefaultIPv6Bias). A negative bias favours IPv4.
func WithIPv6Bias(d time.Duration) Option { return func(c *config) { c.bias = d } }

// WithPolicyTable replaces the RFC 6724 policy table used by the tie-breaking
// rules (default DefaultPolicyTable). The table is copied.
func WithPolicyTable(t PolicyTable) Option {
	return func(c *config) { c.policy = append(PolicyTable(nil), t...) }
}

// WithFirstFamilyCount sets the RFC 8305 First Address Family Count used by
// Attempts (default 1; values below 1 mean 1).
func WithFirstFamilyCount(n int) Option {
	return func(c *config) { c.firstFamilyCount = max(n, 1) }
}

// WithResolutionDelay sets how long a lookup waits for AAAA once A has answered
// (default DefaultResolutionDelay).
func WithResolutionDelay(d time.Duration) Option {
	return func(c *config) { c.resolutionDelay = max(d, 0) }
}

// WithHTTPSRecords makes every Stream ask for the host's HTTPS records (RFC
// 9460), as Query.HTTPS does for one query: their priorities, ports, ALPN,
// address hints and ECH configs then shape the race. They are looked up by a
// stub resolver that reads /etc/resolv.conf and reaches its servers through
// the resolver's Dial function, if it has one; where resolv.conf cannot be
// read there are no HTTPS records, only A and AAAA. The default asks for
// HTTPS records only where the query does (the dialer's DialTLSContext).
func WithHTTPSRecords() Option { return func(c *config) { c.https = true } }

// withHTTPSLookup replaces the stub resolver's HTTPS lookups (tests).
func withHTTPSLookup(f httpsFunc) Option { return func(c *config) { c.httpsLookup = f } }

// withLookup replaces the resolver by a lookup function (tests).
func withLookup(f lookupFunc) Option { return func(c *config) { c.lookup = f } }

// withStartWatcher makes the Selector start its own watchers with f (tests).
func withStartWatcher(f func(log *zap.Logger, first uint64, pref64 []netstate.PREF64) (netstate.Watcher, error)) Option {
	return func(c *config) { c.startWatcher = f }
}

// WithSharing makes the Selector share what it learns with the user's other
// processes through the file at path (the prototype's system-wide pair list; see
// probe.Sharer and probe.DefaultSharePath), merged every 4 to 6 minutes and on
// Close. Link-local pairs are never shared. The default shares nothing.
func WithSharing(path string) Option { return func(c *config) { c.sharing = path } }

// WithAtlas adds one IPv6 and one IPv4 RIPE Atlas anchor, picked at random and
// re-picked periodically, to the prober's targets (see probe.AtlasConfig; its zero
// value is the defaults), probed within the prober's budget (quiet: once a minute
// per path). It has no effect together with WithoutProbing. The default uses no
// anchors.
func WithAtlas(a probe.AtlasConfig) Option { return func(c *config) { c.atlas = &a } }

// WithPREF64 configures NAT64 prefixes for links that learn none from Router
// Advertisements (RFC 8781) or, when IPv6-only, from DNS (RFC 7050): IPv4
// destinations without an IPv4 route through such a link are synthesized under
// its prefix (see ConfiguredPREF64). Prefixes that are not NAT64 prefixes (of
// length 32, 40, 48, 56, 64 or 96) are ignored.
func WithPREF64(ps ...ConfiguredPREF64) Option {
	return func(c *config) {
		for _, p := range ps {
			if nat64.CheckPrefix(p.Prefix) == nil {
				c.pref64 = append(c.pref64, p)
			}
		}
	}
}
