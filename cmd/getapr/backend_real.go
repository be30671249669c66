package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// realBackend is the library itself: a Selector over a netstate watcher, and a
// PairDialer using that Selector.
type realBackend struct {
	*pairs.Selector
	watcher  netstate.Watcher
	ownWatch bool // the backend created watcher and closes it
	pd       *dialer.PairDialer
	std      *net.Dialer
}

// newRealBackend opens the library with the options from the command line.
func newRealBackend(ctx context.Context, o backendOptions) (backend, error) {
	b := &realBackend{watcher: o.Watcher}
	if b.watcher == nil {
		m, err := netstate.New(netstate.WithLogger(o.Logger))
		if err != nil {
			return nil, err
		}
		b.watcher, b.ownWatch = m, true
	}
	sel, err := b.newSelector(ctx, o)
	if err != nil {
		b.closeWatcher()
		return nil, err
	}
	b.Selector = sel
	b.pd = &dialer.PairDialer{
		Timeout: o.Timeout, AttemptDelay: o.AttemptDelay,
		Resolver: o.Resolver, Selector: sel, Logger: o.Logger,
	}
	b.std = &net.Dialer{Timeout: o.Timeout, Resolver: o.Resolver}
	return b, nil
}

func (b *realBackend) newSelector(ctx context.Context, o backendOptions) (*pairs.Selector, error) {
	opts := []pairs.Option{pairs.WithWatcher(b.watcher), pairs.WithLogger(o.Logger)}
	if o.Resolver != nil {
		opts = append(opts, pairs.WithResolver(o.Resolver))
	}
	if o.NoProbe {
		opts = append(opts, pairs.WithoutProbing())
	}
	if o.Eager {
		opts = append(opts, pairs.WithEagerProbing())
	}
	if len(o.ProbeTargets) > 0 {
		rctx, cancel := context.WithTimeout(ctx, o.Timeout)
		targets, err := resolveTargets(rctx, o.Resolver, o.ProbeTargets)
		cancel()
		if err != nil {
			return nil, err
		}
		opts = append(opts, pairs.WithProbeTargets(targets...))
	}
	if o.Share != "" {
		opts = append(opts, pairs.WithSharing(o.Share))
	}
	if len(o.PREF64) > 0 {
		opts = append(opts, pairs.WithPREF64(o.PREF64...))
	}
	return pairs.New(opts...)
}

// resolveTargets turns HOST:PORT strings (private:HOST:PORT allowing private
// addresses) into addresses; a name gives all its addresses, each of which must
// pass probe.CheckProbeTarget.
func resolveTargets(ctx context.Context, r *net.Resolver, targets []string) ([]netip.AddrPort, error) {
	if r == nil {
		r = net.DefaultResolver
	}
	var out []netip.AddrPort
	for _, t := range targets {
		rest, private := strings.CutPrefix(t, probe.PrivateTarget)
		host, ps, err := net.SplitHostPort(rest)
		if err != nil {
			return nil, err
		}
		port, err := parsePort(ps)
		if err != nil {
			return nil, usagef("probe target %q: %v", t, err)
		}
		ips, err := r.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
		for _, ip := range ips {
			if err := probe.CheckProbeTarget(ip.Unmap(), private); err != nil {
				return nil, usagef("probe target %q: %v", t, err)
			}
			out = append(out, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
		}
	}
	return out, nil
}

// Dial dials with the PairDialer, reporting attempts to tr.
func (b *realBackend) Dial(ctx context.Context, network, address string, useTLS bool, tr *attemptTrace) (net.Conn, error) {
	ctx = dialer.WithTrace(ctx, &dialer.Trace{AttemptStart: tr.start, AttemptDone: tr.done})
	if useTLS {
		return b.pd.DialTLSContext(ctx, network, address)
	}
	return b.pd.DialContext(ctx, network, address)
}

// DialStdlib dials with net.Dialer (under tls.Dialer with useTLS) and the
// same timeout.
func (b *realBackend) DialStdlib(ctx context.Context, network, address string, useTLS bool) (net.Conn, error) {
	if useTLS {
		return (&tls.Dialer{NetDialer: b.std}).DialContext(ctx, network, address)
	}
	return b.std.DialContext(ctx, network, address)
}

// HasInterface looks zone up in the watcher's snapshot, as the Selector does.
func (b *realBackend) HasInterface(zone string) bool {
	snap := b.watcher.Snapshot()
	for _, l := range snap.Links {
		if l.Name == zone {
			return true
		}
	}
	if n, err := strconv.Atoi(zone); err == nil {
		_, ok := snap.Link(n)
		return ok
	}
	return false
}

// Subscribe forwards the watcher's changes.
func (b *realBackend) Subscribe(fn func()) (unsubscribe func()) {
	return b.watcher.Subscribe(func(*netstate.Snapshot) { fn() })
}

// Close closes the Selector, then the watcher if the backend created it.
func (b *realBackend) Close() error {
	return errors.Join(b.Selector.Close(), b.closeWatcher())
}

func (b *realBackend) closeWatcher() error {
	if !b.ownWatch {
		return nil
	}
	return b.watcher.Close()
}
