package main

import (
	"context"
	"net"
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// backend is everything the commands need from the library. The real one is a
// pairs.Selector with a dialer.PairDialer (backend_real.go); the tests use a fake.
type backend interface {
	// Get returns the ranked pairs for host and port, best first.
	Get(ctx context.Context, host string, port int) ([]pairs.Pair, error)
	// LookupNetIP returns host's addresses ordered by their best pair; network is
	// "ip", "ip4" or "ip6".
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	// Status returns the detected connectivity.
	Status() probe.Status
	// Init waits for the first probe round.
	Init(ctx context.Context) error
	// Dial races a connect over the pairs and reports every attempt to tr;
	// with useTLS, an attempt succeeds with its TLS handshake
	// (DialTLSContext).
	Dial(ctx context.Context, network, address string, useTLS bool, tr *attemptTrace) (net.Conn, error)
	// DialStdlib connects with the standard library's net.Dialer (and
	// tls.Dialer with useTLS), for comparison.
	DialStdlib(ctx context.Context, network, address string, useTLS bool) (net.Conn, error)
	// HasInterface reports whether zone, an interface name or a decimal index,
	// names one of the host's links: the zone of a link-local address.
	HasInterface(zone string) bool
	// Subscribe calls fn after each change of the host's network state until
	// unsubscribe is called. fn must not block.
	Subscribe(fn func()) (unsubscribe func())
	// Close releases everything the backend started.
	Close() error
}

// attemptTrace receives the events of one PairDialer dial. Both funcs may be called
// from several goroutines at once.
type attemptTrace struct {
	start func(p pairs.Pair)
	done  func(p pairs.Pair, d time.Duration, err error) // err nil: connected
}

// backendOptions are the common flags as the backend sees them.
type backendOptions struct {
	// ProbeTargets are HOST:PORT strings; names are resolved when the backend starts.
	ProbeTargets []string
	// NoProbe turns the background prober off.
	NoProbe bool
	// Eager probes as the prototype did (status and watch); otherwise the
	// library's quiet default.
	Eager bool
	// Share is the path of the system-wide sharing file; empty means no sharing.
	Share string
	// Timeout bounds each dial attempt sequence (PairDialer.Timeout, net.Dialer.Timeout).
	Timeout time.Duration
	// AttemptDelay is PairDialer.AttemptDelay; zero means the dialer's default.
	AttemptDelay time.Duration
	// Logger receives the library's logs; never nil.
	Logger *zap.Logger
	// Watcher, if non-nil, is used instead of a new netstate monitor and is not
	// closed by the backend. Only tests set it.
	Watcher netstate.Watcher
	// Resolver, if non-nil, resolves names instead of net.DefaultResolver.
	Resolver *net.Resolver
	// PREF64 are the configured NAT64 prefixes (--pref64, GETAPR_PREF64).
	PREF64 []pairs.ConfiguredPREF64
}

// newBackendFunc opens a backend. *cli holds one so tests can swap in a fake.
type newBackendFunc func(ctx context.Context, o backendOptions) (backend, error)
