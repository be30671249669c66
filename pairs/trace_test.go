package pairs

import (
	"context"
	"fmt"
	"net"
	"net/http/httptrace"
	"slices"
	"sync"
	"testing"
	"time"
)

// traceLog records the httptrace events of a context.
type traceLog struct {
	mu     sync.Mutex
	events []string
}

func (l *traceLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, fmt.Sprintf(format, args...))
}

func (l *traceLog) ctx(parent context.Context) context.Context {
	return httptrace.WithClientTrace(parent, &httptrace.ClientTrace{
		DNSStart: func(i httptrace.DNSStartInfo) { l.add("DNSStart %s", i.Host) },
		DNSDone: func(i httptrace.DNSDoneInfo) {
			l.add("DNSDone %v err=%v", i.Addrs, i.Err != nil)
		},
		ConnectStart: func(network, addr string) { l.add("ConnectStart %s", network) },
		ConnectDone:  func(network, addr string, err error) { l.add("ConnectDone %s", network) },
	})
}

// TestResolveTrace checks that a lookup of both families shows as one
// DNSStart and one DNSDone with every address, also for a host with only A
// records (no DNSDone with the AAAA lookup's error).
func TestResolveTrace(t *testing.T) {
	dns := fakeDNS{"both.test": {ip("2001:db8::1"), ip("192.0.2.1")}, "a-only.test": {ip("192.0.2.1")}}
	for _, tt := range []struct {
		host string
		want []string
	}{
		{"both.test", []string{"DNSStart both.test", "DNSDone [{2001:db8::1 } {192.0.2.1 }] err=false"}},
		{"a-only.test", []string{"DNSStart a-only.test", "DNSDone [{192.0.2.1 }] err=false"}},
		{"nx.test", []string{"DNSStart nx.test", "DNSDone [] err=true"}},
	} {
		var l traceLog
		resolve(l.ctx(context.Background()), dns.lookup, tt.host, family{true, true}, 50*time.Millisecond, false, false)
		if !slices.Equal(l.events, tt.want) {
			t.Errorf("%s: events %q, want %q", tt.host, l.events, tt.want)
		}
	}
}

// TestResolveHidesResolverConnects checks that the resolver's own sockets do
// not show in the caller's trace, as with net.Dialer, and that without the
// shadow they would (so the test can fail).
func TestResolveHidesResolverConnects(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := pc.LocalAddr().String()
	pc.Close() // a DNS server that is not there: queries fail at once
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", server)
	}}
	var l traceLog
	resolve(l.ctx(context.Background()), r.LookupNetIP, "example.test", family{true, true}, 50*time.Millisecond, false, false)
	if len(l.events) != 2 || l.events[0] != "DNSStart example.test" || l.events[1] != "DNSDone [] err=true" {
		t.Errorf("events %q, want one DNSStart and one DNSDone", l.events)
	}
	var bare traceLog
	r.LookupNetIP(bare.ctx(context.Background()), "ip4", "example.test")
	if !slices.Contains(bare.events, "ConnectStart udp") {
		t.Errorf("without the shadow the resolver's connects should show: %q", bare.events)
	}
}
