package pairs

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/netstate"
)

// recLookup records the names it is asked for and never answers ipv4only.arpa
// (a resolver that does not answer: firewalled, or reachable only through a tunnel).
type recLookup struct {
	mu    sync.Mutex
	names []string
}

func (r *recLookup) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.names = append(r.names, network+" "+host)
	r.mu.Unlock()
	if host == "ipv4only.arpa." {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (r *recLookup) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.names...)
}

// TestDNS64NoWaitWithNativeIPv4: with a native IPv4 default route beside an
// IPv6-only link, a dial to an IPv4 literal has a native path and does not wait
// for the RFC 7050 lookup, neither the first time nor after dns64Retry, while
// the resolver does not answer.
func TestDNS64NoWaitWithNativeIPv4(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := &recLookup{}
		s := lookupSelector(t, routedNAT64Snapshot(false), sys.lookup)
		for i := range 3 {
			start := time.Now()
			ps, err := s.Attempts(context.Background(), Query{Network: "tcp", Host: "192.0.2.10", Port: 443})
			if err != nil || len(ps) == 0 || !ps[0].Dst.Addr().Is4() {
				t.Fatalf("dial %d: %v %v", i, pairText(ps), err)
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("dial %d to an IPv4 literal with a native IPv4 route waited %v (lookups %q)", i, d, sys.got())
			}
			time.Sleep(dns64Retry)
		}
		start := time.Now()
		if _, err := s.Attempts(context.Background(), Query{Network: "udp", Host: "192.0.2.53", Port: 53}); err != nil || time.Since(start) != 0 {
			t.Errorf("udp dial to an IPv4 literal waited %v (%v)", time.Since(start), err)
		}
	})
}

// TestDNS64QueryResolver checks that a query with a resolver of its own
// (PairDialer.Resolver: DNS through a tunnel) to an IPv4 literal on an
// IPv6-only host still gets the NAT64 prefix of the local network's DNS64,
// found with the Selector's resolver, and sends nothing through its own (a
// literal needs no name).
func TestDNS64QueryResolver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns64 := &slowDNS64{p: netip.MustParsePrefix("2001:db8:64::/96"), delay: time.Millisecond}
		s := lookupSelector(t, ipv6Only(routedNAT64Snapshot(false)), dns64.lookup)
		var mu sync.Mutex
		tunnel := 0
		custom := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			mu.Lock()
			tunnel++
			mu.Unlock()
			return nil, errors.New("tunnel down (test)")
		}}
		ps, err := s.Attempts(context.Background(), Query{Network: "tcp", Host: "192.0.2.10", Port: 443, Resolver: custom})
		if err != nil || len(ps) == 0 || !ps[0].Synthesized.IsValid() {
			t.Errorf("Attempts = %v, %v; want a pair through the NAT64", pairText(ps), err)
		}
		if tunnel != 0 || dns64.calls.Load() != 1 {
			t.Errorf("%d queries through the query's resolver, %d RFC 7050 lookups; want 0, 1", tunnel, dns64.calls.Load())
		}
	})
}

// dnsTap is a resolver Dial that answers nothing and records the questions
// sent to it (stream framing over a pipe: no packet leaves the process).
type dnsTap struct {
	mu sync.Mutex
	qs []string
}

func (d *dnsTap) dial(ctx context.Context, network, address string) (net.Conn, error) {
	a, b := net.Pipe()
	go func() {
		defer b.Close()
		var l [2]byte
		if _, err := io.ReadFull(b, l[:]); err != nil {
			return
		}
		msg := make([]byte, int(l[0])<<8|int(l[1]))
		if _, err := io.ReadFull(b, msg); err != nil {
			return
		}
		var p dnsmessage.Parser
		if _, err := p.Start(msg); err != nil {
			return
		}
		q, err := p.Question()
		if err != nil {
			return
		}
		d.mu.Lock()
		d.qs = append(d.qs, q.Type.String()+" "+q.Name.String())
		d.mu.Unlock()
	}()
	return a, nil
}

func (d *dnsTap) got() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.qs...)
}

// net.Dialer (and Go's resolver) answer "localhost" and hosts-file names
// without a DNS query, and never send *.local to unicast DNS; a TLS dial's
// HTTPS lookup (Query.HTTPS, set by DialTLSContext) asks the DNS servers
// about them.
func TestHTTPSNoQueryForLocalNames(t *testing.T) {
	tap := &dnsTap{}
	r := &net.Resolver{PreferGo: true, Dial: tap.dial}
	w := netstate.NewStatic(homeSnapshot())
	defer w.Close()
	s, err := New(WithWatcher(w), WithoutProbing(), WithResolver(r))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, host := range []string{"localhost", "printer.local"} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		st, err := s.Stream(ctx, Query{Network: "tcp", Host: host, Port: 443, HTTPS: true, TLS: true, Resolver: r})
		if err == nil {
			awaitDone(st)
			st.Close()
		}
		cancel()
	}
	time.Sleep(50 * time.Millisecond)
	for _, q := range tap.got() {
		if strings.HasPrefix(q, "TypeHTTPS") {
			t.Errorf("DNS query sent: %s (all: %q)", q, tap.got())
		}
	}
}

// TestDNS64NotForLiterals: a program that dials only loopback and IPv6
// literals, on a host with an IPv6-only link, sends no DNS query.
func TestDNS64NotForLiterals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys := &recLookup{}
		s := lookupSelector(t, routedNAT64Snapshot(false), sys.lookup)
		for _, h := range []string{"127.0.0.1", "::1", "2001:db8:5::10"} {
			s.Attempts(context.Background(), Query{Network: "tcp", Host: h, Port: 8080})
			synctest.Wait()
			if got := sys.got(); len(got) > 0 {
				t.Fatalf("literal dials only (%s), yet DNS queries: %q", h, got)
			}
		}
	})
}

// TestLocalNames checks which names get no HTTPS query: special-use ones and
// those of the hosts file (read again after resolvConfTTL).
func TestLocalNames(t *testing.T) {
	path := t.TempDir() + "/hosts"
	if err := os.WriteFile(path, []byte("192.168.1.5 nas.home nas\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &stubConf{hostsPath: path}
	now := time.Now()
	for name, want := range map[string]bool{
		"localhost": true, "api.localhost.": true, "x.invalid": true, "printer.local": true, "LOCALHOST": true,
		"nas.home": true, "NAS": true, "www.example.com": false, "localhost.example.com": false, "local": true,
	} {
		if got := c.local(name, now); got != want {
			t.Errorf("local(%q) = %v, want %v", name, got, want)
		}
	}
	if err := os.WriteFile(path, []byte("192.168.1.6 printer.home printer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !c.local("nas.home", now.Add(time.Second)) || c.local("nas.home", now.Add(resolvConfTTL)) ||
		!c.local("printer.home", now.Add(resolvConfTTL)) {
		t.Error("the hosts file was not read again after resolvConfTTL")
	}
}

// lookupSelector returns a Selector of the host snap that resolves with lookup,
// without probing, closed when the test ends.
func lookupSelector(t *testing.T, snap *netstate.Snapshot, lookup lookupFunc) *Selector {
	t.Helper()
	w := netstate.NewStatic(snap)
	t.Cleanup(func() { w.Close() })
	s, err := New(WithWatcher(w), WithoutProbing(), withLookup(lookup))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
