package dialer_test

import (
	"crypto/tls"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
)

// TestDialTLSUnansweredHTTPS: a resolver (a home router's DNS proxy, an old
// firewall) that answers A and AAAA but drops HTTPS queries. Our DNS is not
// protected, so an HTTPS lookup that does not answer is one that failed: the
// dial goes on without ECH, as if there were no records (HEv3: only with
// protected DNS may a failed SVCB resolution abort the connection). With
// ECH, the first dial waits for the HTTPS answer for a grace only, not for
// the resolver's timeout (10 s with resolv.conf's defaults, more than the
// dial's Timeout here); the Selector then remembers the resolver, and the
// next dials wait neither for the grace nor, without ECH, for the Resolution
// Delay (1 s here, so that the difference is not in the noise). A dial
// through another resolver still waits.
func TestDialTLSUnansweredHTTPS(t *testing.T) {
	cert, pool := dialer.TestCert(t)
	srv := dialer.TLSServer(t, cert)
	dns, err := newDroppingDNS(map[string][]netip.Addr{"svc.test": {netip.MustParseAddr("127.0.0.1")}},
		nil, []dnsmessage.Type{dnsmessage.TypeHTTPS})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	address := net.JoinHostPort("svc.test", strconv.Itoa(int(srv.Port())))
	for _, ech := range []bool{true, false} {
		r := dns.Resolver() // one resolver for the dials: the Selector remembers it
		sel, err := pairs.New(pairs.WithWatcher(netstate.NewStatic(loopbackSnapshot())),
			pairs.WithoutProbing(), pairs.WithResolver(r), pairs.WithResolutionDelay(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		d := &dialer.PairDialer{Selector: sel, Resolver: r, ECH: ech, Timeout: 3 * time.Second,
			TLSConfig: &tls.Config{RootCAs: pool}}
		var took []time.Duration
		for range 3 {
			start := time.Now()
			c, err := d.DialTLSContext(t.Context(), "tcp", address)
			took = append(took, time.Since(start))
			if err != nil {
				t.Fatalf("ECH %v: dial %d: %v after %v", ech, len(took), err, took[len(took)-1])
			}
			if c.(*tls.Conn).ConnectionState().ECHAccepted {
				t.Errorf("ECH %v: ECH accepted without a record", ech)
			}
			c.Close()
		}
		t.Logf("ECH %v: dials took %v", ech, took)
		if took[0] > 2500*time.Millisecond {
			t.Errorf("ECH %v: first dial took %v, want the grace (at most 2 s)", ech, took[0])
		}
		for i, d := range took[1:] {
			if d > 200*time.Millisecond {
				t.Errorf("ECH %v: dial %d took %v, want no wait for the HTTPS answer once the resolver is known to drop it", ech, i+2, d)
			}
		}
		if !ech {
			// Another resolver is not known to drop HTTPS queries: its
			// first dial waits, for the grace.
			start := time.Now()
			c, err := (&dialer.PairDialer{Selector: sel, Resolver: dns.Resolver(), Timeout: 3 * time.Second,
				TLSConfig: &tls.Config{RootCAs: pool}}).DialTLSContext(t.Context(), "tcp", address)
			if took := time.Since(start); err != nil || took < 200*time.Millisecond {
				t.Errorf("another resolver's dial: %v after %v, want a wait for the HTTPS answer", err, took)
			}
			if c != nil {
				c.Close()
			}
		}
		sel.Close()
	}
}
