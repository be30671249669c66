//go:build lab

package dialer_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/internal/lab"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// TestLabHTTP: an http.Client GET through PairDialer, served in the lab's server
// namespace, with uplink 0 blackholed.
func TestLabHTTP(t *testing.T) {
	l := lab.Current(t)
	ln, err := l.Listen("tcp", netip.AddrPortFrom(l.Server().Open6, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "seen "+r.RemoteAddr)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() { srv.Close(); <-served }()
	if err := l.Blackhole(0, true); err != nil {
		t.Fatal(err)
	}

	d := &dialer.PairDialer{Selector: labSelector(t, l, false)}
	tr := &http.Transport{DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	start := time.Now()
	resp, err := client.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	t.Logf("GET %s: %s %q, %v in %v", ln.Addr(), resp.Status, body, err, time.Since(start).Round(100*time.Microsecond))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET: %s, %v", resp.Status, err)
	}
}

// TestLabConcurrentDials: 1,000 concurrent dials to a name whose addresses
// include ones that drop everything, with uplink 0 blackholed and a 10 ms
// attempt delay (so that most dials cancel losers), leave no goroutine and no
// file descriptor behind.
func TestLabConcurrentDials(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	if err := l.Blackhole(0, true); err != nil {
		t.Fatal(err)
	}
	d := &dialer.PairDialer{Selector: labSelector(t, l, false), Timeout: 20 * time.Second,
		Resolver: l.Resolver(), AttemptDelay: 10 * time.Millisecond}
	addr := net.JoinHostPort(s.MultiName, fmt.Sprint(s.Port))
	// One dial first, so that lazily started goroutines are in the baseline.
	if _, _, _, err := dialPeer(t, d, "tcp", addr); err != nil {
		t.Fatal(err)
	}
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)

	const n = 1000
	var attempts, canceled atomic.Int64
	ctx := dialer.WithTrace(t.Context(), &dialer.Trace{
		AttemptStart: func(pairs.Pair) { attempts.Add(1) },
		AttemptDone: func(_ pairs.Pair, _ time.Duration, err error) {
			if probe.ResultOf(err) == probe.Canceled {
				canceled.Add(1)
			}
		},
	})
	conns := make([]net.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() { conns[i], errs[i] = d.DialContext(ctx, "tcp", addr) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	failed := 0
	for i := range n {
		if errs[i] != nil {
			failed++
			if failed <= 3 {
				t.Error(errs[i])
			}
			continue
		}
		conns[i].Close()
	}
	t.Logf("%d concurrent dials to %s: %d failed, %d attempts, %d canceled, in %v; baseline %d goroutines, %d fds",
		n, addr, failed, attempts.Load(), canceled.Load(), elapsed.Round(time.Millisecond), goroutines, fds)
	if canceled.Load() == 0 {
		t.Error("no attempt was canceled: the test did not exercise the losers")
	}
	waitBaseline(t, goroutines, fds)
}

// waitBaseline waits up to 5 s for the goroutine and fd counts to come back to
// the baseline (closed sockets and their poller goroutines go away promptly).
func waitBaseline(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, f := runtime.NumGoroutine(), openFDs(t)
		if g <= goroutines && f <= fds {
			t.Logf("back to %d goroutines, %d fds", g, f)
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines (baseline %d), %d fds (baseline %d):\n%s", g, goroutines, f, fds, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
