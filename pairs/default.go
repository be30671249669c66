package pairs

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// The environment variables the default Selector reads.
const (
	// EnvProbeTargets is a comma-separated list of host:port probe targets, IP
	// literals ("192.0.2.1:80", "[2001:db8::1]:443") of global unicast addresses;
	// a private one (RFC 1918, 100.64/10, ULA) is accepted when marked
	// "private:10.0.0.1:80". Loopback, link-local, multicast, unspecified and
	// cloud metadata addresses are refused (see probe.ParseProbeTarget).
	EnvProbeTargets = "GETAPR_PROBE_TARGETS"
	// EnvLog is a zap level ("debug", "info", "warn", "error"): the default
	// Selector then logs at that level to stderr, in zap's production format.
	// Unset, it logs nothing.
	EnvLog = "GETAPR_LOG"
	// EnvPREF64 (see its declaration) configures NAT64 prefixes.
)

// DefaultIdleStop is how long the default Selector stays unused before it stops
// its goroutines (see WithIdleStop); the next use starts them again.
const DefaultIdleStop = 3 * time.Minute

// std is the process-wide default Selector, started on first use.
var std struct {
	once    sync.Once
	started atomic.Bool
	s       *Selector
}

// Default returns the process-wide default Selector, starting it on first use: a
// netstate Monitor of the host, a quiet background prober (of the destinations
// dialed, and of the targets in GETAPR_PROBE_TARGETS), the NAT64 prefixes of
// GETAPR_PREF64, the logger GETAPR_LOG asks for. It is never closed (its Close
// only suspends it, as StopDefault does); after DefaultIdleStop without use it
// stops its goroutines, and starts them again on the next use. If it cannot
// start a netstate Monitor (on Linux one reads the host without rtnetlink
// where rtnetlink is refused), it knows no source: every dial is the one
// net.Dialer would make (pairs marked Fallback) and Status detects nothing.
// Unusable GETAPR_* values, and a Selector that cannot read the host, are
// reported on stderr (through the GETAPR_LOG logger when it logs warnings).
func Default() *Selector {
	std.once.Do(func() {
		std.s = newDefault(os.Getenv, os.Stderr, New)
		std.started.Store(true)
	})
	return std.s
}

// StopDefault stops the goroutines of the default Selector now, if it was
// started, keeping what it learned (see Selector.Suspend); its next use starts them
// again. Tests of programs that dial with a zero PairDialer call it before
// checking for leaked goroutines:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pairs.StopDefault()
//		if err := goleak.Find(); err != nil {
//			fmt.Fprintln(os.Stderr, err)
//			code = 1
//		}
//		os.Exit(code)
//	}
func StopDefault() {
	if std.started.Load() {
		std.s.Suspend()
	}
}

// Get returns the pairs to reach host on port over TCP, best first, from Default.
func Get(ctx context.Context, host string, port int) ([]Pair, error) {
	return Default().Get(ctx, host, port)
}

// Init waits for Default's first snapshot and first probe round, or for ctx. It is
// never required.
func Init(ctx context.Context) error { return Default().Init(ctx) }

// Status returns the connectivity Default has detected.
func Status() probe.Status { return Default().Status() }

// LookupNetIP looks host up for network "ip", "ip4" or "ip6" and orders the
// addresses by Default's ranking of their best pair.
func LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return Default().LookupNetIP(ctx, network, host)
}

// envConfig is what the environment asks of the default Selector.
type envConfig struct {
	targets []netip.AddrPort
	pref64  []ConfiguredPREF64
	level   *zapcore.Level // nil: no logging
	// problems lists the values that could not be used.
	problems []string
}

// parseEnv reads the default Selector's settings through getenv. It starts nothing.
func parseEnv(getenv func(string) string) envConfig {
	var c envConfig
	for _, f := range strings.Split(getenv(EnvProbeTargets), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ap, err := probe.ParseProbeTarget(f)
		if err != nil {
			c.problems = append(c.problems, fmt.Sprintf("%s: %v", EnvProbeTargets, err))
			continue
		}
		c.targets = append(c.targets, ap)
	}
	if ps, err := ParsePREF64s(getenv(EnvPREF64)); err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s: %v", EnvPREF64, err))
	} else {
		c.pref64 = ps
	}
	if v := strings.TrimSpace(getenv(EnvLog)); v != "" {
		l, err := zapcore.ParseLevel(v)
		if err != nil {
			c.problems = append(c.problems, fmt.Sprintf("%s: %v", EnvLog, err))
		} else {
			c.level = &l
		}
	}
	return c
}

// logger returns the logger c asks for: zap's production logger on stderr at
// c.level, or a no-op logger.
func (c envConfig) logger() (*zap.Logger, error) {
	if c.level == nil {
		return zap.NewNop(), nil
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(*c.level)
	return zc.Build()
}

// newDefault starts the default Selector from the environment read through
// getenv, with start (New, but for tests). What cannot be used of the
// environment is logged as a warning, and so is a start that failed, after
// which the Selector knows no source (see Default); when the environment asks
// for no logging, or only for errors, these go to stderr all the same: a
// setting that has no effect, or a Selector that cannot read the host, would
// go unnoticed.
func newDefault(getenv func(string) string, stderr io.Writer, start func(...Option) (*Selector, error)) *Selector {
	c := parseEnv(getenv)
	log, err := c.logger()
	if err != nil {
		log = zap.NewNop()
	}
	warn := log
	if !log.Core().Enabled(zapcore.WarnLevel) { // off, or GETAPR_LOG=error
		warn = zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()),
			zapcore.Lock(zapcore.AddSync(stderr)), zapcore.WarnLevel))
	}
	for _, p := range c.problems {
		warn.Warn("getapr: ignoring environment setting", zap.String("problem", p))
	}
	s, err := start(WithLogger(log), WithProbeTargets(c.targets...), WithPREF64(c.pref64...), WithIdleStop(DefaultIdleStop))
	if err != nil {
		warn.Error("getapr: cannot read the host's addresses and routes; every dial is the one net.Dialer would make", zap.Error(err))
		// Over a watcher of its own, New starts no Monitor, the one part
		// that can fail.
		s, _ = New(WithLogger(log), WithWatcher(netstate.NewStatic(&netstate.Snapshot{})), WithoutProbing())
	}
	s.shared = true
	return s
}
