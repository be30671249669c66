package dialer_test

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/pairs"
)

// TestFallbackDelayNegativeSerial checks that a negative FallbackDelay, with
// AttemptDelay unset, makes a dial try its pairs one at a time, as net.Dialer
// then tries its addresses: a slow first attempt that works is the only one.
func TestFallbackDelayNegativeSerial(t *testing.T) {
	dns, ln := twoFamilies(t)
	var mu sync.Mutex
	var sockets []string
	control := func(network, _ string, _ syscall.RawConn) error {
		mu.Lock()
		sockets = append(sockets, network)
		mu.Unlock()
		if network == "tcp6" {
			time.Sleep(400 * time.Millisecond) // slower than AttemptDelay's 250 ms
		}
		return nil
	}
	d := &dialer.PairDialer{Selector: newSelector(t), Resolver: dns.Resolver(), Control: control, FallbackDelay: -1}
	c, err := d.Dial("tcp", "two.test:"+port(ln))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.RemoteAddr().(*net.TCPAddr).IP.String(); got != "::1" {
		t.Errorf("connected to %s, want ::1", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sockets) != 1 {
		t.Errorf("sockets %v, want the first attempt's alone", sockets)
	}
}

// twoFamilies returns a DNS server that answers "two.test" with ::1 and
// 127.0.0.1, and a listener on 127.0.0.1 whose port also listens on ::1; both
// are closed when the test ends.
func twoFamilies(t *testing.T) (*fakeDNS, net.Listener) {
	t.Helper()
	dns, err := newFakeDNS(map[string][]netip.Addr{
		"two.test": {netip.MustParseAddr("::1"), netip.MustParseAddr("127.0.0.1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	ln := listen(t, "tcp4", "127.0.0.1:0")
	listen(t, "tcp6", "[::1]:"+port(ln))
	return dns, ln
}

// TestFixedLocalPortSerial checks that with a fixed local port, an attempt that
// hangs does not make the next pair fail to bind that port: attempts are serial,
// each with its share of the time (2 s at least), as net.Dialer's addresses,
// and the second destination is reached.
func TestFixedLocalPortSerial(t *testing.T) {
	work := listen(t, "tcp4", "127.0.0.2:0")
	p := work.Addr().(*net.TCPAddr).Port
	// 127.0.0.1:p listens with a backlog it never accepts from, filled: a
	// connect there hangs.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: p}); err != nil {
		t.Skipf("cannot listen on 127.0.0.1:%d: %v", p, err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	hung := "127.0.0.1:" + strconv.Itoa(p)
	for range 2 {
		if c, err := net.DialTimeout("tcp", hung, 200*time.Millisecond); err == nil {
			defer c.Close()
		}
	}
	if c, err := net.DialTimeout("tcp", hung, 200*time.Millisecond); err == nil {
		c.Close()
		t.Skip("the backlog did not fill: connects do not hang here")
	}
	dns, err := newFakeDNS(map[string][]netip.Addr{
		"hang.test": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	local := closedAddr(t) // a port nothing holds
	d := &dialer.PairDialer{Selector: newSelector(t), Resolver: dns.Resolver(), Timeout: 3 * time.Second,
		LocalAddr: net.TCPAddrFromAddrPort(netip.MustParseAddrPort(local))}
	c, err := d.Dial("tcp", "hang.test:"+port(work))
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	defer c.Close()
	if got, want := c.RemoteAddr().String(), work.Addr().String(); got != want {
		t.Errorf("connected to %s, want %s", got, want)
	}
	if got := c.LocalAddr().String(); got != local {
		t.Errorf("connected from %s, want %s", got, local)
	}
}

// TestDialUnspecifiedIPv6OnTCP4 checks that "[::]:port" on "tcp4" dials
// 0.0.0.0, this host, as net.Dialer does (Go issue 18806), rather than failing
// for want of an IPv4 address.
func TestDialUnspecifiedIPv6OnTCP4(t *testing.T) {
	ln := listen(t, "tcp4", "127.0.0.1:0")
	d := &dialer.PairDialer{Selector: newSelector(t)}
	c, err := d.Dial("tcp4", "[::]:"+port(ln))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// TestDialTCPFamiliesDiffer checks that DialTCP and DialUDP with a remote
// address of another family than the network's or the local address's fail
// with net.Dialer's error (a refused connect, "non-IPv4 address"), not a
// "no suitable address found" of their own.
func TestDialTCPFamiliesDiffer(t *testing.T) {
	ln := listen(t, "tcp4", "127.0.0.1:0")
	v4 := netip.MustParseAddrPort(ln.Addr().String())
	v6 := netip.AddrPortFrom(netip.IPv6Unspecified(), v4.Port())
	tests := []struct {
		network      string
		laddr, raddr netip.AddrPort
	}{
		{"tcp6", netip.AddrPort{}, v4},
		{"tcp6", netip.AddrPort{}, netip.AddrPortFrom(netip.AddrFrom16(v4.Addr().As16()), v4.Port())},
		{"tcp", netip.MustParseAddrPort("[::1]:0"), v4},
		{"tcp4", netip.AddrPort{}, v6},
		{"udp6", netip.AddrPort{}, v4},
	}
	pd := &dialer.PairDialer{Selector: newSelector(t)}
	nd := &net.Dialer{}
	for _, tt := range tests {
		var want, got error
		if tt.network[:3] == "udp" {
			want = closed(nd.DialUDP(t.Context(), tt.network, tt.laddr, tt.raddr))
			got = closed(pd.DialUDP(t.Context(), tt.network, tt.laddr, tt.raddr))
		} else {
			want = closed(nd.DialTCP(t.Context(), tt.network, tt.laddr, tt.raddr))
			got = closed(pd.DialTCP(t.Context(), tt.network, tt.laddr, tt.raddr))
		}
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Errorf("%s from %v to %v: %v, want net.Dialer's %v", tt.network, tt.laddr, tt.raddr, got, want)
		}
	}
}

// closed closes c, if any, and returns err.
func closed[C io.Closer](c C, err error) error {
	if err == nil {
		c.Close()
	}
	return err
}

// TestWinnerDoesNotWaitForLosers checks that DialContext returns the winning
// connection while a canceled attempt is still held up (in a Control hook that
// does not watch its context), as net.Dialer returns without waiting for its
// fallback racer; and that with a Trace it waits, so that the Trace hears of
// every attempt before DialContext returns.
func TestWinnerDoesNotWaitForLosers(t *testing.T) {
	dns, ln := twoFamilies(t)
	type result struct {
		c   net.Conn
		err error
	}
	for _, traced := range []bool{false, true} {
		release := make(chan struct{})
		var once sync.Once
		free := func() { once.Do(func() { close(release) }) }
		control := func(network, _ string, _ syscall.RawConn) error {
			if network == "tcp6" { // the first attempt: held until released
				<-release
			}
			return nil
		}
		d := &dialer.PairDialer{Selector: newSelector(t), Resolver: dns.Resolver(), Control: control}
		ctx := context.Background()
		won := make(chan struct{})
		var mu sync.Mutex
		var ended []string
		if traced {
			ctx = dialer.WithTrace(ctx, &dialer.Trace{AttemptDone: func(p pairs.Pair, _ time.Duration, err error) {
				mu.Lock()
				defer mu.Unlock()
				ended = append(ended, p.Dst.Addr().String())
				if err == nil {
					close(won)
				}
			}})
		}
		dialed := make(chan result, 1)
		go func() {
			c, err := d.DialContext(ctx, "tcp", "two.test:"+port(ln))
			dialed <- result{c, err}
		}()
		if traced {
			<-won
			select {
			case r := <-dialed:
				t.Errorf("with a Trace, DialContext returned (%v) before its first attempt ended", r.err)
				dialed <- r
			case <-time.After(200 * time.Millisecond):
			}
			free()
		}
		var r result
		select {
		case r = <-dialed:
		case <-time.After(5 * time.Second):
			t.Error("DialContext waited for the attempt held in Control")
			free()
			r = <-dialed
		}
		free()
		if r.err != nil {
			t.Fatal(r.err)
		}
		r.c.Close()
		if got := r.c.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.1" {
			t.Errorf("connected to %s, want 127.0.0.1", got)
		}
		mu.Lock()
		if traced && len(ended) != 2 {
			t.Errorf("the Trace heard of %v ending before DialContext returned, want both attempts", ended)
		}
		mu.Unlock()
	}
}
