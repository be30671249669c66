package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// fakeBackend is a scripted backend: no network, no goroutines of its own. Its
// time-dependent parts sleep, so the tests run it under testing/synctest.
type fakeBackend struct {
	mu         sync.Mutex
	opts       backendOptions
	pairs      map[string][]pairs.Pair // by host
	getErrs    map[string]error        // Get's error, by host
	lookups    map[string][]netip.Addr // by host
	status     probe.Status            // returned by Status
	links      []string                // interface names HasInterface knows
	initDelay  time.Duration           // Init blocks this long (or until ctx is done)
	dials      map[string]fakeDial     // by address; DialStdlib uses "stdlib " + address
	subscriber func()                  // set by Subscribe
	closed     bool                    // set by Close
	closeErr   error                   // returned by Close
	gets       int                     // number of Get calls
}

// fakeDial is the script of one dial.
type fakeDial struct {
	steps []fakeStep
	total time.Duration // the dial returns at this offset
	conn  [2]netip.AddrPort
	err   error // nil: return a conn with addresses conn[0] -> conn[1]
}

// fakeStep is one trace event: an attempt starting, or ending when done is set.
type fakeStep struct {
	at   time.Duration
	pair pairs.Pair
	done bool
	dur  time.Duration
	err  error
}

func notFound(host string) error {
	return &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (f *fakeBackend) Get(ctx context.Context, host string, port int) ([]pairs.Pair, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	if err := f.getErrs[host]; err != nil {
		return nil, err
	}
	ps, ok := f.pairs[host]
	if !ok {
		return nil, notFound(host)
	}
	out := slices.Clone(ps)
	for i := range out {
		out[i].Dst = netip.AddrPortFrom(out[i].Dst.Addr(), uint16(port))
	}
	return out, nil
}

func (f *fakeBackend) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	as, ok := f.lookups[host]
	if !ok {
		return nil, notFound(host)
	}
	var out []netip.Addr
	for _, a := range as {
		if network == "ip" || (network == "ip6") == a.Is6() {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeBackend) Status() probe.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status
	st.Sources = slices.Clone(st.Sources)
	return st
}

func (f *fakeBackend) Init(ctx context.Context) error {
	select {
	case <-time.After(f.initDelay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeBackend) Dial(ctx context.Context, network, address string, useTLS bool, tr *attemptTrace) (net.Conn, error) {
	return f.play(f.dials[tlsKey(useTLS)+address], tr)
}

func (f *fakeBackend) DialStdlib(ctx context.Context, network, address string, useTLS bool) (net.Conn, error) {
	return f.play(f.dials["stdlib "+tlsKey(useTLS)+address], nil)
}

// tlsKey prefixes the script key of a TLS dial.
func tlsKey(useTLS bool) string {
	if useTLS {
		return "tls "
	}
	return ""
}

// play runs a dial script, sleeping between its events.
func (f *fakeBackend) play(d fakeDial, tr *attemptTrace) (net.Conn, error) {
	t0 := time.Now()
	for _, s := range d.steps {
		time.Sleep(s.at - time.Since(t0))
		if s.done {
			tr.done(s.pair, s.dur, s.err)
		} else {
			tr.start(s.pair)
		}
	}
	time.Sleep(d.total - time.Since(t0))
	if d.err != nil {
		return nil, d.err
	}
	if !d.conn[1].IsValid() {
		return nil, errors.New("fake: no script for this address")
	}
	return &fakeConn{local: d.conn[0], remote: d.conn[1]}, nil
}

func (f *fakeBackend) HasInterface(zone string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.links, zone)
}

func (f *fakeBackend) Subscribe(fn func()) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subscriber = fn
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.subscriber = nil
	}
}

// change applies fn to the fake under its lock, then tells the subscriber when
// notify is set, as a netstate event would.
func (f *fakeBackend) change(notify bool, fn func(f *fakeBackend)) {
	f.mu.Lock()
	fn(f)
	sub := f.subscriber
	f.mu.Unlock()
	if notify && sub != nil {
		sub()
	}
}

func (f *fakeBackend) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return f.closeErr
}

// fakeConn is the connection a scripted dial returns.
type fakeConn struct {
	net.Conn // nil: only the methods below may be called
	local    netip.AddrPort
	remote   netip.AddrPort
	closed   bool
}

func (c *fakeConn) LocalAddr() net.Addr  { return net.TCPAddrFromAddrPort(c.local) }
func (c *fakeConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.remote) }
func (c *fakeConn) Close() error         { c.closed = true; return nil }
