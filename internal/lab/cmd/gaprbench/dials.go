package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/pairs"
)

// A dialFunc makes one dial and says how long it took to connect.
type dialFunc func(ctx context.Context) (time.Duration, error)

// dialers makes the dials of every method to one address in the lab. Its
// methods are safe for concurrent use.
type dialers struct {
	resolver *net.Resolver
	timeout  time.Duration
	addr     string // host:port of the lab server
	url      string // the same, for curl
	// tls, when set, makes every dial end with a TLS handshake with this
	// configuration; caFile is its CA for curl.
	tls    *tls.Config
	caFile string

	mu   sync.Mutex
	news []time.Duration // how long each cold pairs.New took
}

// target makes host (at the port and scheme of the current address) what the
// dials go to. The runner calls it between scenarios, never while dials run.
func (ds *dialers) target(host string) {
	_, port, _ := net.SplitHostPort(ds.addr)
	scheme, _, _ := strings.Cut(ds.url, "://")
	ds.addr = net.JoinHostPort(host, port)
	ds.url = scheme + "://" + ds.addr + "/"
}

// contextDialer is what net.Dialer and dialer.PairDialer have in common.
type contextDialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// timeDial dials the lab server with d, closes the connection and returns how
// long the connect took (with TLS, the connect and the handshake).
func (ds *dialers) timeDial(ctx context.Context, d contextDialer) (time.Duration, error) {
	elapsed, _, err := ds.timePair(ctx, d, ds.addr)
	return elapsed, err
}

// timePair dials address with d as timeDial does, and also returns the pair the
// connection was made over; with TLS, the server's name is that of ds.addr.
func (ds *dialers) timePair(ctx context.Context, d contextDialer, address string) (time.Duration, usedPair, error) {
	if ds.tls != nil {
		if pd, ok := d.(*dialer.PairDialer); ok {
			d = tlsDialer{pd}
		} else {
			cfg := ds.tls.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(ds.addr)
			d = &tls.Dialer{NetDialer: d.(*net.Dialer), Config: cfg}
		}
	}
	start := time.Now()
	c, err := d.DialContext(ctx, "tcp", address)
	elapsed := time.Since(start)
	if err != nil {
		return elapsed, usedPair{}, err
	}
	used := usedPair{local: addrPortOf(c.LocalAddr()), remote: addrPortOf(c.RemoteAddr())}
	return elapsed, used, c.Close()
}

// usedPair is the pair a connection was made over.
type usedPair struct{ local, remote netip.AddrPort }

// addrPortOf returns a's address and port; the zero AddrPort if a is no TCP
// address.
func addrPortOf(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	return netip.AddrPort{}
}

// samePair dials with net.Dialer over the pair a PairDialer's dial used: its
// source bound (any port), its address as a literal. It is what the path
// itself gives at that moment, without any choosing.
func (ds *dialers) samePair(ctx context.Context, p usedPair) (time.Duration, error) {
	src := netip.AddrPortFrom(p.local.Addr(), 0)
	d := &net.Dialer{Timeout: ds.timeout, LocalAddr: net.TCPAddrFromAddrPort(src)}
	elapsed, _, err := ds.timePair(ctx, d, p.remote.String())
	return elapsed, err
}

// net dials with net.Dialer.
func (ds *dialers) net(ctx context.Context) (time.Duration, error) {
	return ds.timeDial(ctx, &net.Dialer{Timeout: ds.timeout, Resolver: ds.resolver})
}

// tlsDialer dials a PairDialer's DialTLSContext.
type tlsDialer struct{ *dialer.PairDialer }

func (d tlsDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return d.DialTLSContext(ctx, network, address)
}

// pairDialer returns a PairDialer over sel.
func (ds *dialers) pairDialer(sel *pairs.Selector) *dialer.PairDialer {
	return &dialer.PairDialer{Timeout: ds.timeout, Resolver: ds.resolver, Selector: sel, TLSConfig: ds.tls}
}

// newSelector returns a fresh Selector, probing on, with the lab's resolver.
func (ds *dialers) newSelector(opts ...pairs.Option) (*pairs.Selector, error) {
	return pairs.New(append([]pairs.Option{pairs.WithResolver(ds.resolver)}, opts...)...)
}

// cold dials with a PairDialer over a fresh Selector; only the dial is timed.
func (ds *dialers) cold(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	sel, err := ds.newSelector()
	if err != nil {
		return 0, err
	}
	defer sel.Close()
	ds.mu.Lock()
	ds.news = append(ds.news, time.Since(start))
	ds.mu.Unlock()
	return ds.timeDial(ctx, ds.pairDialer(sel))
}

// coldNew returns the median time a cold Selector took to start.
func (ds *dialers) coldNew() time.Duration {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return median(ds.news)
}

// warm returns the dials of a PairDialer over sel.
func (ds *dialers) warm(sel *pairs.Selector) dialFunc {
	d := ds.pairDialer(sel)
	return func(ctx context.Context) (time.Duration, error) { return ds.timeDial(ctx, d) }
}

// warmAndSame returns the dials of a PairDialer over sel, each followed by
// samePair over the pair it connected by, whose time goes to same. A warm dial
// that failed has no follower.
func (ds *dialers) warmAndSame(sel *pairs.Selector, same *samples) dialFunc {
	d := ds.pairDialer(sel)
	return func(ctx context.Context) (time.Duration, error) {
		elapsed, used, err := ds.timePair(ctx, d, ds.addr)
		if err == nil && used.local.IsValid() && used.remote.IsValid() {
			sd, serr := ds.samePair(ctx, used)
			same.add(Sample{D: sd, Failed: serr != nil})
		}
		return elapsed, err
	}
}

// samples collects Samples; it is safe for concurrent use.
type samples struct {
	mu sync.Mutex
	s  []Sample
}

func (ss *samples) add(x Sample) {
	ss.mu.Lock()
	ss.s = append(ss.s, x)
	ss.mu.Unlock()
}

// curl runs curl, which connects with its own Happy Eyeballs and resolves
// through the system's resolver (the lab's resolv.conf in the client
// namespace), and returns its time_connect. The lab server is no HTTP server:
// curl gives up on its answer at once, which does not matter here.
//
// With TLS it trusts the lab's CA and returns its time_appconnect: the TLS
// handshake done.
func (ds *dialers) curl(ctx context.Context) (time.Duration, error) {
	secs := strconv.FormatFloat(ds.timeout.Seconds(), 'f', -1, 64)
	args := []string{"--connect-timeout", secs, "-so", "/dev/null", "-w", "%{time_connect}", ds.url}
	if ds.tls != nil {
		args = append([]string{"--cacert", ds.caFile}, args...)
		args[len(args)-2] = "%{time_appconnect}"
	}
	out, err := exec.CommandContext(ctx, "curl", args...).Output()
	return curlConnectTime(string(out), err)
}

// writeCA writes the lab's CA certificate to a temporary file, for curl, and
// returns its path.
func writeCA(pem []byte) (string, error) {
	f, err := os.CreateTemp("", "gaprbench-ca-*.pem")
	if err != nil {
		return "", err
	}
	_, err = f.Write(pem)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return f.Name(), err
}

// curlConnectTime reads curl's -w '%{time_connect}' output: seconds, zero when
// curl did not connect. runErr is how curl exited, reported when it did not
// connect.
func curlConnectTime(out string, runErr error) (time.Duration, error) {
	secs, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("curl: time_connect %q: %v (curl: %v)", out, err, runErr)
	case secs <= 0:
		return 0, fmt.Errorf("curl: not connected (%v)", runErr)
	}
	return time.Duration(math.Round(secs * float64(time.Second))), nil
}

// curlVersion returns curl's name and version ("curl 7.88.1"), or "" when
// there is no curl.
func curlVersion() string {
	out, err := exec.Command("curl", "--version").Output()
	if err != nil {
		return ""
	}
	return shortVersion(string(out))
}

// shortVersion returns the first two words of a --version output.
func shortVersion(out string) string {
	f := strings.Fields(out)
	return strings.Join(f[:min(2, len(f))], " ")
}
