package pairs

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/internal/dnsstub"
	"github.com/getapr/getapr/internal/svcb"
)

// switchable is an HTTPS lookup whose script can be changed between dials,
// and that counts the lookups made.
type switchable struct {
	mu     sync.Mutex
	dns    scripted
	asked  int // lookups started
	active int // lookups running
}

func (s *switchable) set(dns scripted) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dns = dns
}

func (s *switchable) https(ctx context.Context, host string, port uint16) (*dnsstub.Service, error) {
	s.mu.Lock()
	dns := s.dns
	s.asked++
	s.active++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.active--
		s.mu.Unlock()
	}()
	return dns.https(ctx, host, port)
}

func (s *switchable) counts() (asked, active int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked, s.active
}

// dropped is a resolver that answers A and AAAA at once and never answers
// HTTPS (a home router's DNS proxy, an old firewall).
var dropped = scripted{
	"svc.test. ip6":   {after: time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
	"svc.test. ip4":   {after: time.Millisecond, addrs: []netip.Addr{ip(dst4)}},
	"svc.test. https": {after: time.Hour},
}

// withHTTPS is dropped whose HTTPS answer is ans.
func withHTTPS(ans scriptedAnswer) scripted {
	dns := scripted{}
	for k, v := range dropped {
		dns[k] = v
	}
	dns["svc.test. https"] = ans
	return dns
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
// is not protected: a lookup that does not answer is one that failed). The
// Selector remembers the resolver: the next dial waits for neither the
// Resolution Delay nor the grace, and while one lookup runs in the
// background to learn whether answers came back, no other is sent.
func TestECHDialUnansweredHTTPS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := &switchable{dns: dropped}
		sel := dropped.selector(t, withHTTPSLookup(sw.https))
		t0 := time.Now()
		st, started := startStream(t, sel, true)
		if started != 51*time.Millisecond {
			t.Errorf("first dial started after %v, want the Resolution Delay after the addresses", started)
		}
		if s, took := service(t, st, t0); s != nil || took != 251*time.Millisecond {
			t.Errorf("first dial: Service %+v after %v, want none after the grace (1 ms + 250 ms)", s, took)
		}
		st.Close()

		t0 = time.Now()
		st2, started := startStream(t, sel, true)
		defer st2.Close()
		if s, took := service(t, st2, t0); s != nil || started != time.Millisecond || took != time.Millisecond {
			t.Errorf("second dial: started after %v, Service %+v after %v; want both with the addresses, without waiting", started, s, took)
		}
		st3, started := startStream(t, sel, true)
		defer st3.Close()
		if s, took := service(t, st3, t0); s != nil || started != time.Millisecond || took != 2*time.Millisecond {
			t.Errorf("third dial: started after %v, Service %+v after %v; want both with the addresses", started, s, took)
		}
		if asked, active := sw.counts(); asked != 2 || active != 1 {
			t.Errorf("HTTPS lookups: %d asked, %d running; want the first dial's and one in the background", asked, active)
		}
	})
}

// TestECHDialSlowHTTPS: a slow resolver that answers is waited for: the
// addresses at 150 ms, the HTTPS record at 300 ms (the grace is twice the
// addresses' time, 300 ms after them), whose ECH config the handshake gets;
// and the next dial waits again.
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

// TestUnansweredHTTPSRecovers: once the resolver answers HTTPS again (the
// background lookup of a dial that did not wait hears it), the next dial
// waits for the answer and uses its ECH config. An answer without records
// counts as much as one with.
func TestUnansweredHTTPSRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := &switchable{dns: dropped}
		sel := dropped.selector(t, withHTTPSLookup(sw.https))
		st, _ := startStream(t, sel, true)
		service(t, st, time.Now()) // after the grace
		st.Close()

		sw.set(withHTTPS(scriptedAnswer{after: 10 * time.Millisecond})) // NOERROR, no record
		st, _ = startStream(t, sel, true)                               // does not wait, its lookup hears the answer
		time.Sleep(20 * time.Millisecond)
		st.Close()

		sw.set(withHTTPS(scriptedAnswer{after: 10 * time.Millisecond, svc: echRecord}))
		t0 := time.Now()
		st, _ = startStream(t, sel, true)
		defer st.Close()
		if s, took := service(t, st, t0); s == nil || !slices.Equal(s.ECH, testECH) || took != 10*time.Millisecond {
			t.Errorf("after recovery: Service %+v after %v, want the ECH record at 10 ms", s, took)
		}
	})
}

// TestFastHTTPSFailureIsAnswered: a lookup that fails in milliseconds
// (SERVFAIL) is an answer, not a resolver that drops HTTPS: the next dial
// still waits for the HTTPS answer.
func TestFastHTTPSFailureIsAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sel := withHTTPS(scriptedAnswer{after: 30 * time.Millisecond, fail: true}).selector(t)
		for i := range 2 {
			st, started := startStream(t, sel, true)
			if started != 30*time.Millisecond {
				t.Errorf("dial %d started after %v, want with the HTTPS failure at 30 ms", i+1, started)
			}
			st.Close()
		}
	})
}

// TestDialUnansweredHTTPSNoResolutionDelay: without ECH, a dial waits for the
// HTTPS answer the Resolution Delay only, but it did every time: once the
// Selector knows that the resolver drops HTTPS queries (a dial that ended
// before the grace leaves its lookup to learn it), dials start with the
// addresses.
func TestDialUnansweredHTTPSNoResolutionDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sel := dropped.selector(t)
		st, started := startStream(t, sel, false)
		if started != 51*time.Millisecond {
			t.Errorf("first dial started after %v, want the Resolution Delay after the addresses", started)
		}
		st.Close() // the connection is up: before the grace
		time.Sleep(time.Second)
		for i := range 2 {
			st, started := startStream(t, sel, false)
			if started != time.Millisecond {
				t.Errorf("dial %d started after %v, want with the addresses", i+2, started)
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

// TestSuspendWaitsForTheLearningLookup: the HTTPS lookup that learns whether
// a quiet resolver answers again runs in the background of a dial that did
// not wait for it; Suspend (and Close) end it and return only once it has
// ended, as they do with every goroutine of the Selector.
func TestSuspendWaitsForTheLearningLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := &switchable{dns: dropped}
		sel := dropped.selector(t, withHTTPSLookup(sw.https))
		st, _ := startStream(t, sel, true)
		service(t, st, time.Now()) // after the grace: the resolver is quiet
		st.Close()
		st, _ = startStream(t, sel, true) // does not wait; its lookup learns
		st.Close()
		synctest.Wait()
		if _, active := sw.counts(); active != 1 {
			t.Fatalf("%d HTTPS lookups running, want the one that learns", active)
		}
		sel.Suspend()
		if _, active := sw.counts(); active != 0 {
			t.Errorf("after Suspend: %d HTTPS lookups still running", active)
		}
	})
}
