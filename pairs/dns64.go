package pairs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/nat64"
)

// dns64Timeout bounds one RFC 7050 lookup of ipv4only.arpa; a lookup that
// failed (a timeout, a server failure: not "no such name") may be made again
// after dns64Retry.
const (
	dns64Timeout = 2 * time.Second
	dns64Retry   = 30 * time.Second
	// dns64Refresh is the age past which an answer is looked up again, in
	// the background, at the next need (RFC 7050 section 3 asks for it when
	// the answer's TTL ends; LookupNetIP does not give the TTL).
	dns64Refresh = 10 * time.Minute
)

// dns64Discovery finds the NAT64 prefix from DNS (RFC 7050): the AAAA answers
// for ipv4only.arpa. It looks once per network (see dns64Network), at the first
// need, on a goroutine of its own, so that a dial that does not need the
// prefix never waits for it; a dial that does waits for that one lookup. A
// change of network makes the next need look again. Its lookups run only
// while it is running: the Selector's engine resumes it when it starts and
// stops it (cancelling a lookup and waiting for it) when it stops; what was
// found stays. An answer older than dns64Refresh is looked up again at the
// next need, while it still stands: the new answer replaces it when it comes,
// a failure leaves it (for dns64Retry more).
type dns64Discovery struct {
	lookup lookupFunc
	log    *zap.Logger
	wg     sync.WaitGroup

	mu          sync.Mutex
	ctx         context.Context // of the lookups; nil while stopped
	cancel      context.CancelFunc
	cur         *dns64Check // for the network last asked about; nil before the first need
	refreshing  bool        // a lookup to replace cur is under way
	nextRefresh time.Time   // after a failed refresh: none before this
}

// dns64Check is one lookup for one network.
type dns64Check struct {
	network  string
	done     chan struct{} // closed when the lookup has ended
	prefixes []netip.Prefix
	err      error     // the lookup's, when it failed (not "not found")
	ended    time.Time // when done was closed
	cut      bool      // stop cancelled it: not an answer
}

// stale reports whether c is a failed lookup old enough to be made again.
func (c *dns64Check) stale(now time.Time) bool {
	select {
	case <-c.done:
		return c.err != nil && now.Sub(c.ended) >= dns64Retry
	default:
		return false
	}
}

// due reports whether c is an answer that stands and is old enough to be looked
// up again.
func (c *dns64Check) due(now time.Time) bool {
	select {
	case <-c.done:
		return c.err == nil && now.Sub(c.ended) >= dns64Refresh
	default:
		return false
	}
}

// newDNS64Discovery returns a running discovery.
func newDNS64Discovery(lookup lookupFunc, log *zap.Logger) *dns64Discovery {
	d := &dns64Discovery{lookup: lookup, log: log}
	d.resume()
	return d
}

// resume lets lookups run again after stop; it does nothing while running.
func (d *dns64Discovery) resume() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil {
		d.ctx, d.cancel = context.WithCancel(context.Background())
	}
}

// stop cancels a running lookup and waits for it; until resume, a need looks
// nothing up (and is answered at once, with nothing). A lookup it cut short is
// forgotten, so that the next need after resume looks again. It is idempotent.
func (d *dns64Discovery) stop() {
	d.mu.Lock()
	if d.cancel != nil {
		d.cancel()
	}
	d.ctx, d.cancel = nil, nil
	d.mu.Unlock()
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cur != nil && d.cur.cut {
		d.cur = nil
	}
}

// start makes sure a lookup for network has been started and returns it; it
// never blocks. The empty network (no IPv6-only link) needs no lookup: start
// returns nil.
func (d *dns64Discovery) start(network string) *dns64Check {
	if network == "" {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := time.Now()
	if d.cur != nil && d.cur.network == network && !d.cur.stale(now) {
		if d.cur.due(now) && !d.refreshing && d.ctx != nil && !now.Before(d.nextRefresh) {
			d.refreshing = true
			r, parent := &dns64Check{network: network, done: make(chan struct{})}, d.ctx
			d.wg.Go(func() {
				d.run(parent, r)
				d.refreshed(r)
			})
		}
		return d.cur
	}
	c := &dns64Check{network: network, done: make(chan struct{})}
	if d.ctx == nil { // stopped: nothing is looked up, nor remembered
		close(c.done)
		return c
	}
	d.cur = c
	parent := d.ctx
	d.wg.Go(func() { d.run(parent, c) })
	return c
}

// run makes c's lookup under parent, the context of the running discovery.
func (d *dns64Discovery) run(parent context.Context, c *dns64Check) {
	ctx, cancel := context.WithTimeout(parent, dns64Timeout)
	defer cancel()
	start := time.Now()
	addrs, err := d.lookup(ctx, "ip6", nat64.WellKnownName)
	c.prefixes = nat64.PrefixesFromAnswers(addrs)
	if dnsErr, ok := errors.AsType[*net.DNSError](err); err != nil && !(ok && dnsErr.IsNotFound) {
		c.err = err
		c.cut = parent.Err() != nil
	}
	c.ended = time.Now()
	defer close(c.done)
	d.log.Debug("RFC 7050 discovery", zap.String("network", c.network), zap.Stringers("pref64", c.prefixes),
		zap.Duration("took", time.Since(start)), zap.Error(err))
}

// refreshed puts the answer of the refresh r in place of the one it refreshes,
// unless it failed, was cut short, or the network changed meanwhile.
func (d *dns64Discovery) refreshed(r *dns64Check) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refreshing = false
	switch {
	case r.cut || d.cur == nil || d.cur.network != r.network:
	case r.err != nil:
		d.nextRefresh = time.Now().Add(dns64Retry)
	default:
		d.cur = r
	}
}

// known returns what the lookup for network found, if it has ended, and
// whether that answer stands: false too for a failed lookup old enough to be
// made again (the next need makes it). It never blocks and starts nothing.
func (d *dns64Discovery) known(network string) ([]netip.Prefix, bool) {
	if c := d.answered(network); c != nil {
		return c.prefixes, !c.stale(time.Now())
	}
	return nil, false
}

// answered returns the lookup for network if it has ended, else nil; with
// network "", the lookup for the network last asked about. It never blocks
// and starts nothing.
func (d *dns64Discovery) answered(network string) *dns64Check {
	d.mu.Lock()
	c := d.cur
	d.mu.Unlock()
	if c == nil || network != "" && c.network != network {
		return nil
	}
	select {
	case <-c.done:
		return c
	default:
		return nil
	}
}

// wait starts the lookup for network if needed and waits until it has ended,
// or ctx is done.
func (d *dns64Discovery) wait(ctx context.Context, network string) []netip.Prefix {
	c := d.start(network)
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
		return c.prefixes
	case <-ctx.Done():
		return nil
	}
}
