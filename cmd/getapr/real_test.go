package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
)

// The real backend, safe in the root namespace: a netstate.Static watcher instead
// of the host's, no probing, literal destinations (no DNS) and dials to loopback
// only.

func staticHost() *netstate.Snapshot {
	forever := func(ip string, bits int) netstate.Addr {
		return netstate.Addr{IP: netip.MustParseAddr(ip), Bits: bits, Index: 2, Interface: "eth0",
			PreferredLifetime: netstate.Forever, ValidLifetime: netstate.Forever}
	}
	return &netstate.Snapshot{
		Generation: 1,
		Links:      []netstate.Link{{Index: 2, Name: "eth0", Up: true, Running: true, MTU: 1500}},
		Addrs:      []netstate.Addr{forever("2001:db8:a::10", 64), forever("192.0.2.10", 24)},
		Routes: []netstate.Route{
			{Dst: netip.MustParsePrefix("2001:db8:a::/64"), Index: 2, Table: 254},
			{Dst: netip.MustParsePrefix("::/0"), Gateway: netip.MustParseAddr("2001:db8:a::1"), Index: 2, Table: 254},
			{Dst: netip.MustParsePrefix("192.0.2.0/24"), Index: 2, Table: 254},
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.1"), Index: 2, Table: 254},
		},
		Gateway4: netip.MustParseAddr("192.0.2.1"),
		Gateway6: netip.MustParseAddr("2001:db8:a::1"),
	}
}

// realCLI returns a cli over the real backend with w as its watcher.
func realCLI(w netstate.Watcher, stdout, stderr *syncBuffer) *cli {
	return &cli{
		stdout: stdout,
		stderr: stderr,
		newBackend: func(ctx context.Context, o backendOptions) (backend, error) {
			if !o.NoProbe {
				panic("a unit test must not probe from the root namespace")
			}
			o.Watcher = w
			return newRealBackend(ctx, o)
		},
		buildInfo: fakeBuildInfo,
		loc:       time.UTC,
	}
}

func runReal(t *testing.T, w netstate.Watcher, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	code := realCLI(w, &stdout, &stderr).run(t.Context(), append(args, "--no-probe"))
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func TestRealPairs(t *testing.T) {
	w := netstate.NewStatic(staticHost())
	r := runReal(t, w, "pairs", "2001:db8:ff::1", "80", "--json")
	if r.code != exitOK {
		t.Fatalf("%v", r)
	}
	var got struct {
		Pairs []struct {
			Rank                               int
			Src, Dst, Interface, Basis, Reason string
			Port                               int
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Pairs) != 1 {
		t.Fatalf("got %d pairs, want 1 (IPv6 source to IPv6 destination):\n%s", len(got.Pairs), r.stdout)
	}
	p := got.Pairs[0]
	if p.Src != "2001:db8:a::10" || p.Dst != "2001:db8:ff::1" || p.Port != 80 || p.Interface != "eth0" {
		t.Errorf("pair %+v, want 2001:db8:a::10 on eth0 -> [2001:db8:ff::1]:80", p)
	}
	if p.Basis != "default" || p.Rank != 1 || p.Reason == "" {
		t.Errorf("pair %+v: want rank 1, a default latency and a reason", p)
	}
}

// An empty host is the local system, as for net.Dialer: its pairs are
// loopback ones.
func TestRealPairsLocalSystem(t *testing.T) {
	w := netstate.NewStatic(staticHost())
	r := runReal(t, w, "pairs", ":8080")
	if r.code != exitOK || !strings.Contains(r.stdout, "[::1]:8080") && !strings.Contains(r.stdout, "127.0.0.1:8080") {
		t.Errorf("pairs :8080: %v", r)
	}
}

func TestRealLookupAndStatus(t *testing.T) {
	w := netstate.NewStatic(staticHost())
	if r := runReal(t, w, "lookup", "192.0.2.80"); r.code != exitOK || r.stdout != "192.0.2.80\n" {
		t.Errorf("lookup: %v", r)
	}
	// An IPv6 literal in brackets, as in a URL or "[::1]:80", is the literal.
	if r := runReal(t, w, "lookup", "[2001:db8:ff::1]"); r.code != exitOK || r.stdout != "2001:db8:ff::1\n" {
		t.Errorf("lookup of a bracketed literal: %v", r)
	}
	if r := runReal(t, w, "lookup", "-6", "192.0.2.80"); r.code == exitOK {
		t.Errorf("lookup -6 of an IPv4 literal succeeded: %v", r)
	}
	r := runReal(t, w, "status")
	if r.code != exitOK {
		t.Fatalf("status: %v", r)
	}
	for _, want := range []string{"def_gateway4   192.0.2.1", "2001:db8:a::10  eth0", "192.0.2.10", "global4"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// loopbackListener returns a listener on 127.0.0.1 that accepts and closes
// connections until the test ends.
func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { acceptAll(ln) })
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln
}

func TestRealDialLoopback(t *testing.T) {
	addr := loopbackListener(t).Addr().String()
	w := netstate.NewStatic(staticHost())
	for _, stdlib := range []bool{false, true} {
		args := []string{"dial", addr, "--json"}
		if stdlib {
			args = append(args, "--stdlib")
		}
		r := runReal(t, w, args...)
		if r.code != exitOK {
			t.Errorf("stdlib=%v: %v", stdlib, r)
			continue
		}
		var got dialJSON
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatal(err)
		}
		if got.Winner == nil || got.Winner.Remote.String() != addr {
			t.Errorf("stdlib=%v: winner %+v, want remote %s", stdlib, got.Winner, addr)
		}
		if got.Winner != nil && got.Winner.Attempt > 0 && got.Attempts[got.Winner.Attempt-1].Outcome != "won" {
			t.Errorf("stdlib=%v: winning attempt %+v", stdlib, got.Attempts[got.Winner.Attempt-1])
		}
	}
	// A closed port fails fast with exit 1: the network's answer, not bad input.
	closed := closedPort(t)
	if r := runReal(t, w, "dial", closed); r.code != exitNetwork || !strings.Contains(r.stderr, "refused") {
		t.Errorf("dial to a closed port: %v", r)
	}
}

func TestRealWatchSeesChange(t *testing.T) {
	w := netstate.NewStatic(staticHost())
	var stdout, stderr syncBuffer
	seen := make(chan struct{})
	stdout.notify("source 2001:db8:b::10", seen)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	c := realCLI(w, &stdout, &stderr)
	done := make(chan int)
	go func() { done <- c.run(ctx, []string{"watch", "--no-probe", "--interval", "1h", "2001:db8:ff::1"}) }()
	waitFor(t, &stdout, "+ pair [2001:db8:ff::1]:443")
	next := staticHost()
	next.Addrs = append(next.Addrs, netstate.Addr{IP: netip.MustParseAddr("2001:db8:b::10"), Bits: 64,
		Index: 2, Interface: "eth0", PreferredLifetime: netstate.Forever, ValidLifetime: netstate.Forever})
	w.Set(next)
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		t.Errorf("watch did not report the new source:\n%s", stdout.String())
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("watch exit %d: %s", code, stderr.String())
	}
}

// waitFor waits until b has received s; a failure guard, not a timing assertion.
func waitFor(t *testing.T, b *syncBuffer, s string) {
	t.Helper()
	waitForWithin(t, b, s, 10*time.Second)
}

func waitForWithin(t *testing.T, b *syncBuffer, s string, limit time.Duration) {
	t.Helper()
	ch := make(chan struct{})
	b.notify(s, ch)
	select {
	case <-ch:
	case <-time.After(limit):
		t.Fatalf("output never contained %q:\n%s", s, b.String())
	}
}

func acceptAll(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// syncBuffer is a bytes.Buffer safe for concurrent use that can tell when a
// string has been written.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	waiters map[string]chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	for str, ch := range s.waiters {
		if strings.Contains(s.b.String(), str) {
			close(ch)
			delete(s.waiters, str)
		}
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// notify closes ch once the buffer contains str.
func (s *syncBuffer) notify(str string, ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.Contains(s.b.String(), str) {
		close(ch)
		return
	}
	if s.waiters == nil {
		s.waiters = make(map[string]chan struct{})
	}
	s.waiters[str] = ch
}

// TestRealBadDestination checks that an address no pair can reach is bad input
// (exit 2, one line), not a network failure: a zone naming no interface of the
// host, a destination that is not unicast. It was "exit 1, pairs: no usable
// pair". A link-local destination the host has no source for stays a network
// failure.
func TestRealBadDestination(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"pairs", "fe80::1%nosuchif"}, exitUsage, `getapr pairs: bad host "fe80::1%nosuchif": no interface "nosuchif"`},
		{[]string{"pairs", "fe80::1%99", "22"}, exitUsage, `getapr pairs: bad host "fe80::1%99": no interface "99"`},
		{[]string{"lookup", "fe80::1%nosuchif"}, exitUsage, `getapr lookup: bad host "fe80::1%nosuchif": no interface "nosuchif"`},
		{[]string{"pairs", "ff02::1"}, exitUsage, `getapr pairs: bad host "ff02::1": a multicast address, not a unicast destination`},
		{[]string{"pairs", "224.0.0.1", "80"}, exitUsage, `getapr pairs: bad host "224.0.0.1": a multicast address, not a unicast destination`},
		{[]string{"pairs", "::ffff:224.0.0.1"}, exitUsage, `getapr pairs: bad host "::ffff:224.0.0.1": a multicast address, not a unicast destination`},
		{[]string{"pairs", "255.255.255.255"}, exitUsage, `getapr pairs: bad host "255.255.255.255": the broadcast address, not a unicast destination`},
		{[]string{"pairs", "::"}, exitUsage, `getapr pairs: bad host "::": the unspecified address, not a unicast destination`},
		{[]string{"pairs", "0.0.0.0"}, exitUsage, `getapr pairs: bad host "0.0.0.0": the unspecified address, not a unicast destination`},
		{[]string{"pairs", "240.0.0.1"}, exitUsage, `getapr pairs: bad host "240.0.0.1": a reserved address, not a unicast destination`},
		{[]string{"pairs", "fe80::1%eth0"}, exitNetwork, "getapr pairs: no usable pair for fe80::1%eth0: "},
		{[]string{"pairs", "fe80::1%2"}, exitNetwork, "getapr pairs: no usable pair for fe80::1%2: "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runReal(t, netstate.NewStatic(staticHost()), tt.args...)
			if r.code != tt.code || !strings.HasPrefix(r.stderr, tt.stderr) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("%v\nwant exit %d and one line starting %q", r, tt.code, tt.stderr)
			}
		})
	}
}

// TestDialUnspecifiedWinner dials 0.0.0.0:PORT (the local system, as
// net.Dialer does) with a listener on 127.0.0.1:PORT: the one traced attempt
// is the winner although the connection's remote address is 127.0.0.1.
func TestDialUnspecifiedWinner(t *testing.T) {
	port := loopbackListener(t).Addr().(*net.TCPAddr).Port
	addr := net.JoinHostPort("0.0.0.0", strconv.Itoa(port))

	r := runReal(t, netstate.NewStatic(staticHost()), "dial", addr, "--json")
	if r.code != exitOK {
		t.Fatalf("dial %s: %v", addr, r)
	}
	var got dialJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Attempts) != 1 {
		t.Fatalf("attempts = %+v, want 1", got.Attempts)
	}
	if got.Winner == nil || got.Winner.Attempt != 1 {
		t.Errorf("winner = %+v, want attempt 1 (the only, traced, attempt connected)", got.Winner)
	}
	if got.Attempts[0].Outcome != "won" {
		t.Errorf("attempt 1 outcome = %q, want \"won\"", got.Attempts[0].Outcome)
	}

	r = runReal(t, netstate.NewStatic(staticHost()), "dial", addr)
	if strings.Contains(r.stdout, "untraced") {
		t.Errorf("human output calls a traced dial untraced:\n%s", r.stdout)
	}
}
