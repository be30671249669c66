package dialer

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/sockopt"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// fakeSelector answers Attempts with fixed pairs and records queries and outcomes.
type fakeSelector struct {
	pairs []pairs.Pair
	err   error

	mu       sync.Mutex
	queries  []pairs.Query
	outcomes []probe.Outcome
}

func (s *fakeSelector) Attempts(_ context.Context, q pairs.Query) ([]pairs.Pair, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = append(s.queries, q)
	return s.pairs, s.err
}

func (s *fakeSelector) Report(o probe.Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes = append(s.outcomes, o)
}

// listenTCP returns a loopback listener that accepts and closes connections
// until the test ends.
func listenTCP(t *testing.T, address string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", address)
	if err != nil {
		t.Skipf("no loopback listener on %s: %v", address, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln
}

// closedPort returns a loopback TCP address where nothing listens.
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return ap
}

// boundPair is a pair from 127.0.0.1 that the dialer binds, as it binds a
// source pairs chose among the host's addresses (it leaves a loopback pair
// unbound, as net.Dialer does).
func boundPair(dst netip.AddrPort) pairs.Pair {
	p := loopbackPair(dst)
	p.SrcClass = netstate.Private4
	return p
}

func loopbackPair(dst netip.AddrPort) pairs.Pair {
	return pairs.Pair{Src: netip.MustParseAddrPort("127.0.0.1:0"), Dst: dst, Interface: "lo",
		SrcClass: netstate.Loopback, DstClass: netstate.Loopback}
}

func TestDialQueryLoopback(t *testing.T) {
	ln := listenTCP(t, "127.0.0.1:0")
	good := ln.Addr().(*net.TCPAddr).AddrPort()
	sel := &fakeSelector{pairs: []pairs.Pair{boundPair(closedPort(t)), boundPair(good)}}
	d := &PairDialer{}
	c, err := d.dialQuery(t.Context(), pairs.Query{Network: "tcp", Host: "127.0.0.1", Port: good.Port()}, "tcp", sel)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.RemoteAddr().(*net.TCPAddr).AddrPort(); got != good {
		t.Errorf("connected to %v, want %v", got, good)
	}
	if len(sel.outcomes) != 2 {
		t.Fatalf("outcomes %+v, want 2", sel.outcomes)
	}
	refused, won := sel.outcomes[0], sel.outcomes[1]
	if refused.Result != probe.Refused || refused.Active || refused.Dst == good {
		t.Errorf("first outcome %+v, want a passive Refused from the closed port", refused)
	}
	if won.Result != probe.Success || won.Dst != good || won.Duration <= 0 {
		t.Errorf("second outcome %+v, want a Success to %v", won, good)
	}
	if runtime.GOOS == "linux" && won.KernelRTT <= 0 {
		t.Errorf("KernelRTT = %v, want the kernel's RTT", won.KernelRTT)
	}
}

// TestDialQueryAllRefused: one attempt fails with net.Dialer's own error
// (Source nil: a loopback pair binds nothing); two with an *AttemptsError
// naming the first pair.
func TestDialQueryAllRefused(t *testing.T) {
	dst := closedPort(t)
	p := loopbackPair(dst)
	sel := &fakeSelector{pairs: []pairs.Pair{p}}
	_, err := (&PairDialer{}).dialQuery(t.Context(), pairs.Query{Network: "tcp4"}, "tcp", sel)
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %#v, want a *net.OpError", err)
	}
	if _, ok := oe.Err.(*os.SyscallError); !ok || oe.Op != "dial" || oe.Net != "tcp4" || oe.Source != nil || oe.Addr.String() != dst.String() {
		t.Errorf("OpError{Op: %q, Net: %q, Source: %v, Addr: %v, Err: %T}, want dial tcp4 %v *os.SyscallError", oe.Op, oe.Net, oe.Source, oe.Addr, oe.Err, dst)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || oe.Timeout() || oe.Temporary() {
		t.Errorf("errors.Is(ECONNREFUSED) false or Timeout() or Temporary() true: %v", err)
	}

	bound := p
	bound.Src, bound.SrcClass = netip.MustParseAddrPort("127.0.0.2:0"), netstate.GUA // a pair that binds its source
	sel = &fakeSelector{pairs: []pairs.Pair{bound, p}}
	_, err = (&PairDialer{}).dialQuery(t.Context(), pairs.Query{Network: "tcp"}, "tcp", sel)
	var ae *AttemptsError
	if !errors.As(err, &oe) || !errors.As(err, &ae) {
		t.Fatalf("error %#v, want a *net.OpError wrapping an *AttemptsError", err)
	}
	if oe.Net != "tcp" || oe.Source.String() != "127.0.0.2:0" || oe.Addr.String() != dst.String() {
		t.Errorf("OpError{Net: %q, Source: %v, Addr: %v}, want tcp 127.0.0.2:0 -> %v", oe.Net, oe.Source, oe.Addr, dst)
	}
	if len(ae.Attempts) != 2 || ae.Attempts[0].Pair != bound || !errors.Is(err, syscall.ECONNREFUSED) || ae.Temporary() {
		t.Errorf("attempts %v, want both pairs refused, not temporary", ae.Attempts)
	}
}

// TestDialErrorKeepsZone: when every attempt to a literal with a zone fails,
// the error names the literal as the caller wrote it, zone and all, as
// net.Dialer's does (pairs drop a zone the kernel ignores).
func TestDialErrorKeepsZone(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	dst := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close() // now refused
	address := "[::1%lo]:" + strconv.Itoa(int(dst.Port()))
	unbound := pairs.Pair{Src: netip.MustParseAddrPort("[::1]:0"), Dst: dst, Interface: "lo",
		SrcClass: netstate.Loopback, DstClass: netstate.Loopback}
	bound := unbound
	bound.SrcClass = netstate.GUA // a pair that binds its source
	sel := &fakeSelector{pairs: []pairs.Pair{bound, unbound}}
	q := pairs.Query{Network: "tcp", Host: "::1%lo", Port: dst.Port()}
	_, err = (&PairDialer{}).dialOver(t.Context(), q, "tcp", address, sel, nil)
	var oe *net.OpError
	var ae *AttemptsError
	if !errors.As(err, &oe) || !errors.As(err, &ae) || len(ae.Attempts) != 2 {
		t.Fatalf("error %#v, want a *net.OpError wrapping an *AttemptsError of two attempts", err)
	}
	if oe.Addr == nil || oe.Addr.String() != address {
		t.Errorf("error names %v, want %s", oe.Addr, address)
	}
}

func TestDialQuerySelectorErrors(t *testing.T) {
	dnsErr := &net.DNSError{Err: "no such host", Name: "nonexistent.test", IsNotFound: true}
	tests := []struct {
		name string
		sel  *fakeSelector
		want func(error) bool
	}{
		{"DNS error", &fakeSelector{err: dnsErr}, func(err error) bool {
			var de *net.DNSError
			return errors.As(err, &de) && de.IsNotFound
		}},
		{"no pair", &fakeSelector{}, func(err error) bool {
			var ae *net.AddrError
			return errors.As(err, &ae) && ae.Err == "no suitable address found" && ae.Addr == "nonexistent.test"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := (&PairDialer{}).dialQuery(t.Context(), pairs.Query{Network: "tcp", Host: "nonexistent.test"}, "tcp", tt.sel)
			var oe *net.OpError
			if !errors.As(err, &oe) || oe.Op != "dial" || oe.Source != nil || oe.Addr != nil || !tt.want(err) {
				t.Errorf("error %#v", err)
			}
			if len(tt.sel.outcomes) != 0 {
				t.Errorf("outcomes reported without an attempt: %v", tt.sel.outcomes)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	resolver := &net.Resolver{PreferGo: true}
	tests := []struct {
		network, address string
		local            net.Addr
		want             pairs.Query
	}{
		{"tcp", "198.51.100.1:80", nil, pairs.Query{Network: "tcp", Host: "198.51.100.1", Port: 80}},
		{"tcp6", "[2001:db8::1]:443", nil, pairs.Query{Network: "tcp6", Host: "2001:db8::1", Port: 443}},
		{"tcp", "[fe80::1%eth0]:22", nil, pairs.Query{Network: "tcp", Host: "fe80::1%eth0", Port: 22}},
		{"tcp4", "example.test:http", nil, pairs.Query{Network: "tcp4", Host: "example.test", Port: 80}},
		{"udp", "example.test:53", nil, pairs.Query{Network: "udp", Host: "example.test", Port: 53}},
		{"tcp", ":8080", nil, pairs.Query{Network: "tcp", Port: 8080}},
		{"tcp", "h:1", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5000},
			pairs.Query{Network: "tcp", Host: "h", Port: 1, Local: netip.MustParseAddrPort("192.0.2.1:5000")}},
		{"tcp", "h:1", &net.TCPAddr{IP: net.ParseIP("fe80::2"), Zone: "eth1"},
			pairs.Query{Network: "tcp", Host: "h", Port: 1, Local: netip.MustParseAddrPort("[fe80::2%eth1]:0")}},
		{"tcp", "h:1", &net.TCPAddr{Port: 5000},
			pairs.Query{Network: "tcp", Host: "h", Port: 1, Local: netip.AddrPortFrom(netip.Addr{}, 5000)}},
		{"udp6", "h:1", &net.UDPAddr{IP: net.IPv6zero},
			pairs.Query{Network: "udp6", Host: "h", Port: 1, Local: netip.MustParseAddrPort("[::]:0")}},
	}
	for _, tt := range tests {
		t.Run(tt.network+" "+tt.address, func(t *testing.T) {
			d := &PairDialer{LocalAddr: tt.local, Resolver: resolver}
			q, err := d.query(t.Context(), tt.network, baseNetwork(tt.network), tt.address)
			tt.want.Resolver = resolver
			if err != nil || !reflect.DeepEqual(q, tt.want) {
				t.Errorf("query = %+v, %v; want %+v", q, err, tt.want)
			}
		})
	}
}

func TestEarliestDeadline(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return now.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name        string
		timeout     time.Duration
		deadline    time.Time
		ctxDeadline time.Time
		want        time.Time
	}{
		{"none", 0, time.Time{}, time.Time{}, time.Time{}},
		{"timeout", 5 * time.Second, time.Time{}, time.Time{}, at(5)},
		{"negative timeout has passed", -time.Second, time.Time{}, time.Time{}, at(-1)},
		{"deadline", 0, at(3), time.Time{}, at(3)},
		{"context", 0, time.Time{}, at(2), at(2)},
		{"deadline before timeout", 5 * time.Second, at(3), time.Time{}, at(3)},
		{"timeout before context", 5 * time.Second, time.Time{}, at(9), at(5)},
		{"context earliest", 5 * time.Second, at(3), at(1), at(1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := earliestDeadline(now, tt.timeout, tt.deadline, tt.ctxDeadline); !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBindsDevice(t *testing.T) {
	mismatch := pairs.Pair{Interface: "eth1", EgressMismatch: true}
	match := pairs.Pair{Interface: "eth0"}
	unnamed := pairs.Pair{EgressMismatch: true}
	tests := []struct {
		mode BindMode
		p    pairs.Pair
		want bool
	}{
		{BindAuto, mismatch, true},
		{BindAuto, match, false},
		{BindAuto, unnamed, false},
		{BindNever, mismatch, false},
		{BindAlways, match, true},
		{BindAlways, mismatch, true},
		{BindAlways, unnamed, false},
	}
	for _, tt := range tests {
		d := &PairDialer{BindToDevice: tt.mode}
		if got := d.bindsDevice(tt.p); got != tt.want {
			t.Errorf("%v, %+v: bindsDevice = %v, want %v", tt.mode, tt.p, got, tt.want)
		}
	}
}

func TestDialPairBindToDevice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("SO_BINDTODEVICE is Linux only")
	}
	ln := listenTCP(t, "127.0.0.1:0")
	dst := ln.Addr().(*net.TCPAddr).AddrPort()
	var controls int
	control := func(network, address string, c syscall.RawConn) error { controls++; return nil }
	tests := []struct {
		name    string
		p       pairs.Pair
		wantErr bool
	}{
		{"bound to lo", pairs.Pair{Src: netip.MustParseAddrPort("127.0.0.1:0"), Dst: dst, Interface: "lo", EgressMismatch: true}, false},
		{"missing interface", pairs.Pair{Src: netip.MustParseAddrPort("127.0.0.1:0"), Dst: dst, Interface: "gapr-none0", EgressMismatch: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			controls = 0
			d := &PairDialer{Control: control}
			var a attempt
			a.init(d, pairs.Query{Network: "tcp"}, "tcp", "", netip.AddrPort{}, d.logger())
			c, err := a.dial(t.Context(), tt.p)
			if err == nil {
				c.Close()
			}
			var be *sockopt.DeviceError
			if tt.wantErr != (err != nil) || tt.wantErr && !errors.As(err, &be) {
				t.Fatalf("dialPair = %v, want error %v (from the device bind)", err, tt.wantErr)
			}
			if controls != 1 {
				t.Errorf("user Control ran %d times, want 1", controls)
			}
			if a.dev.Refusal() != nil {
				t.Error("a missing interface counted as a refused privilege")
			}
		})
	}
}

// dialQuery gets the pairs for q from sel and connects over them, as a dial
// whose caller gave no address as text.
func (d *PairDialer) dialQuery(ctx context.Context, q pairs.Query, base string, sel selector) (net.Conn, error) {
	return d.dialOver(ctx, q, base, "", sel, nil)
}
