package pairs

import (
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/internal/svcb"
)

// dropped is a resolver that answers A and AAAA at once and never answers
// HTTPS (a home router's DNS proxy, an old firewall).
var dropped = scripted{
	"svc.test. ip6":   {after: time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
	"svc.test. ip4":   {after: time.Millisecond, addrs: []netip.Addr{ip(dst4)}},
	"svc.test. https": {after: time.Hour},
}

var testECH = []byte{0, 1, 2}

// echRecord is an HTTPS record that offers ECH, for the origin.
var echRecord = []svcb.Record{{Priority: 1, Target: ".", ECH: testECH}}

// startStream starts a Stream for an ECH (or not) TLS dial to svc.test, and
// says how long it took to start.
func startStream(t *testing.T, sel *Selector, ech bool) (*Stream, time.Duration) {
	t.Helper()
	t0 := time.Now()
	st, err := sel.Stream(t.Context(), Query{Host: "svc.test", Port: 443, TLS: true, HTTPS: true, ECH: ech})
	if err != nil {
		t.Fatal(err)
	}
	return st, time.Since(t0)
}

// service takes the Stream's first pair and returns its Service and the time
// from t0 until Service returned.
func service(t *testing.T, st *Stream, t0 time.Time) (*Service, time.Duration) {
	t.Helper()
	p, ok := st.Next()
	if !ok {
		t.Fatal("no pair")
	}
	s, err := st.Service(t.Context(), p)
	if err != nil {
		t.Fatalf("Service: %v", err)
	}
	return s, time.Since(t0)
}

// TestECHDialUnansweredHTTPS: with ECH, the TLS handshake waits for the
// HTTPS answer no longer than the grace after the address answers (250 ms
// here: they took 1 ms), then goes on without ECH, as with no record (our DNS
// is not protected: a lookup that does not answer is one that failed).
func TestECHDialUnansweredHTTPS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sel := dropped.selector(t)
		t0 := time.Now()
		st, started := startStream(t, sel, true)
		defer st.Close()
		if started != 51*time.Millisecond {
			t.Errorf("dial started after %v, want the Resolution Delay after the addresses", started)
		}
		if s, took := service(t, st, t0); s != nil || took != 251*time.Millisecond {
			t.Errorf("Service %+v after %v, want none after the grace (1 ms + 250 ms)", s, took)
		}
	})
}

// TestECHDialSlowHTTPS: a slow resolver that answers is waited for: the
// addresses at 150 ms, the HTTPS record at 300 ms (the grace is twice the
// addresses' time, 300 ms after them), whose ECH config the handshake gets.
func TestECHDialSlowHTTPS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := scripted{
			"svc.test. ip6":   {after: 150 * time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
			"svc.test. ip4":   {after: 150 * time.Millisecond, addrs: []netip.Addr{ip(dst4)}},
			"svc.test. https": {after: 300 * time.Millisecond, svc: echRecord},
		}
		sel := dns.selector(t)
		for i := range 2 {
			t0 := time.Now()
			st, _ := startStream(t, sel, true)
			if s, took := service(t, st, t0); s == nil || !slices.Equal(s.ECH, testECH) || took != 300*time.Millisecond {
				t.Errorf("dial %d: Service %+v after %v, want the ECH record at 300 ms", i+1, s, took)
			}
			st.Close()
		}
	})
}

// TestHTTPSGraceEndsTheLookups: without ECH too, an HTTPS answer that has not
// come within the grace is given up on: the Stream's lookups are then done
// (a dial that waits for every answer, FallbackDelay negative, waited for the
// resolver's timeout), with the pairs of the addresses.
func TestHTTPSGraceEndsTheLookups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sel := dropped.selector(t)
		t0 := time.Now()
		st, _ := startStream(t, sel, false)
		defer st.Close()
		awaitDone(st)
		if took := time.Since(t0); took != 251*time.Millisecond || st.Left() == 0 {
			t.Errorf("done after %v with %d pairs; want at the grace (1 ms + 250 ms), with pairs", took, st.Left())
		}
	})
}
