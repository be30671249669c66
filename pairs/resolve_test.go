package pairs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// slowDNS answers each family after its delay; a negative delay means not found,
// and a family missing from the map times out after a minute.
type slowDNS struct {
	delay map[string]time.Duration // "ip4", "ip6"
	addrs map[string][]netip.Addr
}

func (d slowDNS) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	wait, ok := d.delay[network]
	if !ok {
		wait = time.Minute
	}
	t := time.NewTimer(max(wait, -wait))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, &net.DNSError{Err: ctx.Err().Error(), Name: host, UnwrapErr: ctx.Err()}
	case <-t.C:
	}
	if !ok {
		return nil, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
	}
	if wait < 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return d.addrs[network], nil
}

// TestResolutionDelay checks the RFC 8305 Resolution Delay under synctest: the
// time the lookup returns and what it returns.
func TestResolutionDelay(t *testing.T) {
	v4 := []netip.Addr{ip("192.0.2.1")}
	v6 := []netip.Addr{ip("2001:db8::1")}
	const ms = time.Millisecond
	tests := []struct {
		name     string
		f        family
		d4, d6   time.Duration
		want     []netip.Addr
		wantTime time.Duration
		notFound bool
	}{
		{"AAAA first waits for A", family{true, true}, 30 * ms, 10 * ms, []netip.Addr{v6[0], v4[0]}, 30 * ms, false},
		{"A first, AAAA within the delay", family{true, true}, 10 * ms, 40 * ms, []netip.Addr{v6[0], v4[0]}, 40 * ms, false},
		{"A first, AAAA too slow", family{true, true}, 10 * ms, 100 * ms, v4, 60 * ms, false},
		{"A not found waits for AAAA", family{true, true}, -10 * ms, 200 * ms, v6, 200 * ms, false},
		{"AAAA not found", family{true, true}, 20 * ms, -10 * ms, v4, 20 * ms, false},
		{"both not found", family{true, true}, -10 * ms, -20 * ms, nil, 20 * ms, true},
		{"ip4 only", family{v4: true}, 20 * ms, 5 * ms, v4, 20 * ms, false},
		{"ip6 only", family{v6: true}, 5 * ms, 20 * ms, v6, 20 * ms, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dns := slowDNS{
					delay: map[string]time.Duration{"ip4": tt.d4, "ip6": tt.d6},
					addrs: map[string][]netip.Addr{"ip4": v4, "ip6": v6},
				}
				start := time.Now()
				got, err := resolve(context.Background(), dns.lookup, "host.test", tt.f, DefaultResolutionDelay, false, false)
				if took := time.Since(start); took != tt.wantTime {
					t.Errorf("took %v, want %v", took, tt.wantTime)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
				dnsErr, ok := errors.AsType[*net.DNSError](err)
				if tt.notFound != (ok && dnsErr.IsNotFound) {
					t.Errorf("err = %v, want not found: %v", err, tt.notFound)
				}
			})
		})
	}
}

// TestResolveErrors checks that a failure other than "not found" is reported in
// preference, and that the caller's context ends the lookup.
func TestResolveErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := slowDNS{delay: map[string]time.Duration{"ip6": -time.Millisecond}} // A times out
		_, err := resolve(context.Background(), dns.lookup, "host.test", family{true, true}, DefaultResolutionDelay, false, false)
		if dnsErr, ok := errors.AsType[*net.DNSError](err); !ok || !dnsErr.IsTimeout {
			t.Errorf("err = %v, want the timeout", err)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		start := time.Now()
		_, err = resolve(ctx, slowDNS{}.lookup, "host.test", family{true, true}, DefaultResolutionDelay, false, false)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != 5*time.Second {
			t.Errorf("after %v: err = %v, want the context's deadline after 5s", time.Since(start), err)
		}

		// AAAA answers, then the context ends while A is outstanding: the
		// lookup fails with A's error, as net.Dialer's one lookup would.
		dns = slowDNS{delay: map[string]time.Duration{"ip6": time.Millisecond, "ip4": time.Second},
			addrs: map[string][]netip.Addr{"ip6": {ip("2001:db8::1")}}}
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		addrs, err := resolve(ctx, dns.lookup, "host.test", family{true, true}, DefaultResolutionDelay, false, false)
		if !errors.Is(err, context.DeadlineExceeded) || addrs != nil {
			t.Errorf("context ended after AAAA: %v, %v; want no addresses and the deadline", addrs, err)
		}
	})
}

// TestSelectorResolves checks a name through the Selector, under synctest: the
// Resolution Delay option is used and the pairs of both families come back.
func TestSelectorResolves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := slowDNS{
			delay: map[string]time.Duration{"ip4": 5 * time.Millisecond, "ip6": 30 * time.Millisecond},
			addrs: map[string][]netip.Addr{"ip4": {ip("198.51.100.1")}, "ip6": {ip("2001:db8:2::1")}},
		}
		s, _ := newTestSelector(t, homeSnapshot(), nil, withLookup(dns.lookup), WithResolutionDelay(20*time.Millisecond))
		ps, err := s.Attempts(context.Background(), Query{Host: "server.test", Port: 443})
		if err != nil {
			t.Fatal(err)
		}
		// AAAA came after the 20 ms delay: only IPv4 pairs.
		want := []string{"192.168.1.10 198.51.100.1:443"}
		if got := dsts(ps); !slices.Equal(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
		addrs, err := s.LookupNetIP(context.Background(), "ip6", "server.test")
		if err != nil || !slices.Equal(addrs, []netip.Addr{ip("2001:db8:2::1")}) {
			t.Errorf("LookupNetIP(ip6) = %v, %v", addrs, err)
		}
	})
}
