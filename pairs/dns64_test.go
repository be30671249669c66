package pairs

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
)

// slowDNS64 answers ipv4only.arpa AAAA as a DNS64 with prefix p, after delay.
type slowDNS64 struct {
	p     netip.Prefix
	delay time.Duration
	calls atomic.Int32
}

func (f *slowDNS64) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	f.calls.Add(1)
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if network != "ip6" || host != "ipv4only.arpa." || !f.p.IsValid() {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	a := f.p.Addr().As16()
	a[12], a[13], a[14], a[15] = 192, 0, 0, 170
	b := a
	b[15] = 171
	return []netip.Addr{netip.AddrFrom16(a), netip.AddrFrom16(b)}, nil
}

func TestDNS64Discovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := netip.MustParsePrefix("2001:db8:6464::/96")
		dns := &slowDNS64{p: p, delay: 30 * time.Millisecond}
		d := newDNS64Discovery(dns.lookup, zap.NewNop())
		defer d.stop()
		if c := d.start(""); c != nil {
			t.Fatal("a lookup for a host without IPv6-only links")
		}
		// start never blocks; known says nothing until the lookup ends.
		start := time.Now()
		d.start("3=2001:db8:b:1::/64;")
		if time.Since(start) != 0 {
			t.Fatal("start blocked")
		}
		if _, ok := d.known("3=2001:db8:b:1::/64;"); ok {
			t.Fatal("known before the answer")
		}
		got := d.wait(context.Background(), "3=2001:db8:b:1::/64;")
		if !slices.Equal(got, []netip.Prefix{p}) || time.Since(start) != 30*time.Millisecond {
			t.Fatalf("wait = %v after %v; want %v after 30ms", got, time.Since(start), p)
		}
		if got, ok := d.known("3=2001:db8:b:1::/64;"); !ok || !slices.Equal(got, []netip.Prefix{p}) {
			t.Fatalf("known = %v, %v", got, ok)
		}
		// Once per network: asking again looks nothing up.
		d.wait(context.Background(), "3=2001:db8:b:1::/64;")
		if n := dns.calls.Load(); n != 1 {
			t.Fatalf("%d lookups for one network", n)
		}
		// Another network: looked up again; a waiter with a shorter deadline
		// gives up without the answer.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if got := d.wait(ctx, "3=2001:db8:c:1::/64;"); got != nil {
			t.Fatalf("wait past its deadline = %v", got)
		}
		if _, ok := d.known("3=2001:db8:b:1::/64;"); ok {
			t.Fatal("the old network's answer is still known")
		}
		synctest.Wait()
		time.Sleep(30 * time.Millisecond)
		if got, ok := d.known("3=2001:db8:c:1::/64;"); !ok || !slices.Equal(got, []netip.Prefix{p}) || dns.calls.Load() != 2 {
			t.Fatalf("second network: %v, %v after %d lookups", got, ok, dns.calls.Load())
		}
	})
}

// No DNS64: the lookup finds nothing, and stop ends a lookup that hangs.
func TestDNS64DiscoveryNoneAndClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := newDNS64Discovery((&slowDNS64{delay: time.Millisecond}).lookup, zap.NewNop())
		if got := d.wait(context.Background(), "n1"); got != nil {
			t.Fatalf("wait without a DNS64 = %v", got)
		}
		d.stop()
		hang := newDNS64Discovery((&slowDNS64{delay: time.Hour}).lookup, zap.NewNop())
		hang.start("n1")
		start := time.Now()
		hang.stop()
		if time.Since(start) != 0 {
			t.Fatalf("stop waited %v for a hanging lookup", time.Since(start))
		}
		if c := hang.start("n2"); c == nil {
			t.Fatal("start after stop returned nil")
		} else if got := hang.wait(context.Background(), "n2"); got != nil || time.Since(start) != 0 {
			t.Fatalf("a need after stop: %v after %v; want nothing at once", got, time.Since(start))
		}
		hang.stop()
	})
}

// The engine stops and resumes the discovery: an answer found stays, a lookup
// that stop cut short is made again after resume, and nothing is looked up
// while stopped.
func TestDNS64DiscoveryStopResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := netip.MustParsePrefix("2001:db8:6464::/96")
		dns := &slowDNS64{p: p, delay: 10 * time.Millisecond}
		d := newDNS64Discovery(dns.lookup, zap.NewNop())
		defer d.stop()
		if got := d.wait(context.Background(), "n"); !slices.Equal(got, []netip.Prefix{p}) {
			t.Fatalf("wait = %v", got)
		}
		d.stop()
		d.start("n")
		d.resume()
		if got, ok := d.known("n"); !ok || !slices.Equal(got, []netip.Prefix{p}) || dns.calls.Load() != 1 {
			t.Fatalf("after stop and resume: %v, %v after %d lookups; want the answer, 1 lookup", got, ok, dns.calls.Load())
		}
		d.start("m") // another network; stop cuts its lookup short
		d.stop()
		if _, ok := d.known("m"); ok {
			t.Fatal("a lookup cut short by stop counts as an answer")
		}
		d.resume()
		if got := d.wait(context.Background(), "m"); !slices.Equal(got, []netip.Prefix{p}) || dns.calls.Load() != 3 {
			t.Fatalf("after resume: %v after %d lookups; want the prefix from a third lookup", got, dns.calls.Load())
		}
	})
}

// failingDNS fails every lookup with a timeout, counting them.
type failingDNS struct{ calls atomic.Int32 }

func (f *failingDNS) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	f.calls.Add(1)
	return nil, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
}

// A failed lookup (not "no such name") is made again after dns64Retry, not
// before; "no such name" is an answer and is not.
func TestDNS64DiscoveryRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &failingDNS{}
		d := newDNS64Discovery(f.lookup, zap.NewNop())
		defer d.stop()
		d.wait(context.Background(), "n")
		d.wait(context.Background(), "n")
		if n := f.calls.Load(); n != 1 {
			t.Fatalf("%d lookups at once; want 1", n)
		}
		time.Sleep(dns64Retry)
		d.wait(context.Background(), "n")
		if n := f.calls.Load(); n != 2 {
			t.Fatalf("%d lookups after dns64Retry; want 2", n)
		}
		none := &slowDNS64{delay: time.Millisecond}
		d2 := newDNS64Discovery(none.lookup, zap.NewNop())
		defer d2.stop()
		d2.wait(context.Background(), "n")
		time.Sleep(dns64Retry)
		d2.wait(context.Background(), "n")
		if n := none.calls.Load(); n != 1 {
			t.Fatalf("not found was looked up %d times; want 1", n)
		}
	})
}

// changingDNS64 answers as a DNS64 with prefix p, whatever p is at the time of
// the lookup, or fails while fail is set; calls counts the RFC 7050 lookups.
type changingDNS64 struct {
	mu    sync.Mutex
	p     netip.Prefix
	fail  bool
	calls int
}

func (f *changingDNS64) set(p netip.Prefix, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.p, f.fail = p, fail
}

func (f *changingDNS64) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if host == "ipv4only.arpa." {
		f.calls++
	}
	if f.fail {
		return nil, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
	}
	return (&slowDNS64{p: f.p}).lookup(ctx, network, host)
}

// TestDNS64DiscoveryRefresh checks that an answer is looked up again once it is
// dns64Refresh old, in the background (the old answer stands meanwhile), that
// the new answer replaces it, and that a failed refresh keeps it and is not
// repeated before dns64Retry.
func TestDNS64DiscoveryRefresh(t *testing.T) {
	a, b := netip.MustParsePrefix("64:ff9b::/96"), netip.MustParsePrefix("2001:db8:64::/96")
	synctest.Test(t, func(t *testing.T) {
		f := &changingDNS64{p: a}
		d := newDNS64Discovery(f.lookup, zap.NewNop())
		defer d.stop()
		known := func() netip.Prefix {
			ps, ok := d.known("n")
			if !ok || len(ps) != 1 {
				t.Fatalf("known = %v, %v", ps, ok)
			}
			return ps[0]
		}
		d.wait(context.Background(), "n")
		f.set(b, false)
		time.Sleep(dns64Refresh - time.Second)
		d.start("n")
		synctest.Wait()
		if got := known(); got != a || f.calls != 1 {
			t.Fatalf("before dns64Refresh: %v after %d lookups, want %v after 1", got, f.calls, a)
		}
		time.Sleep(time.Second)
		if c := d.start("n"); c == nil || len(c.prefixes) != 1 || c.prefixes[0] != a {
			t.Fatalf("start during the refresh = %+v, want the standing answer %v", c, a)
		}
		synctest.Wait()
		if got := known(); got != b || f.calls != 2 {
			t.Fatalf("after dns64Refresh: %v after %d lookups, want %v after 2", got, f.calls, b)
		}
		f.set(a, true)
		time.Sleep(dns64Refresh)
		d.start("n")
		synctest.Wait()
		d.start("n")
		synctest.Wait()
		if got := known(); got != b || f.calls != 3 {
			t.Fatalf("after a failed refresh: %v after %d lookups, want %v after 3", got, f.calls, b)
		}
		f.set(a, false)
		time.Sleep(dns64Retry)
		d.start("n")
		synctest.Wait()
		if got := known(); got != a || f.calls != 4 {
			t.Fatalf("dns64Retry after a failed refresh: %v after %d lookups, want %v after 4", got, f.calls, a)
		}
	})
}

// TestDNS64StreamRefresh checks that dials to names (Streams) look an old RFC
// 7050 answer up again, as Attempts does: a program that dials only names must
// see a DNS64 whose prefix changed.
func TestDNS64StreamRefresh(t *testing.T) {
	a, b := netip.MustParsePrefix("2001:db8:64::/96"), netip.MustParsePrefix("2001:db8:65::/96")
	synctest.Test(t, func(t *testing.T) {
		f := &changingDNS64{p: a}
		s := lookupSelector(t, ipv6Only(routedNAT64Snapshot(false)), f.lookup)
		stream := func() {
			if st, err := s.Stream(context.Background(), Query{Network: "tcp", Host: "x.test", Port: 443}); err == nil {
				awaitDone(st)
				st.Close()
			}
			synctest.Wait()
		}
		stream()
		f.set(b, false)
		time.Sleep(dns64Refresh)
		stream()
		net := s.currentView(s.watcher()).nat64.net
		if ps, _ := s.dns64.known(net); f.calls != 2 || len(ps) != 1 || ps[0] != b {
			t.Errorf("after dns64Refresh and a dial to a name: %d lookups, prefixes %v; want 2, %v", f.calls, ps, b)
		}
	})
}
