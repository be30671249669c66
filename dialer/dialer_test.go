package dialer_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/getapr/getapr/dialer"
)

// PairDialer fits golang.org/x/net/proxy.
var (
	_ proxy.ContextDialer = (*dialer.PairDialer)(nil)
	_ proxy.Dialer        = (*dialer.PairDialer)(nil)
)

func TestDialLoopback(t *testing.T) {
	ln4 := listen(t, "tcp4", "127.0.0.1:0")
	ln6 := listen(t, "tcp6", "[::1]:0")
	only4 := listen(t, "tcp4", "127.0.0.1:0") // ::1 refused on this port, probably
	tests := []struct {
		network, address, want string
	}{
		{"tcp", "127.0.0.1:" + port(ln4), "127.0.0.1"},
		{"tcp4", "127.0.0.1:" + port(ln4), "127.0.0.1"},
		{"tcp6", "[::1]:" + port(ln6), "::1"},
		{"tcp", "[::1]:" + port(ln6), "::1"},
		{"tcp", "localhost:" + port(ln4), "127.0.0.1"}, // /etc/hosts
		{"tcp", ":" + port(only4), "127.0.0.1"},        // the local system: ::1 fails, 127.0.0.1 next
	}
	d := &dialer.PairDialer{Selector: newSelector(t), Timeout: 5 * time.Second}
	for _, tt := range tests {
		t.Run(tt.network+" "+tt.address, func(t *testing.T) {
			c, err := d.DialContext(t.Context(), tt.network, tt.address)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.RemoteAddr().(*net.TCPAddr).IP.String(); got != tt.want {
				t.Errorf("connected to %v, want %s", c.RemoteAddr(), tt.want)
			}
			ping(t, c)
		})
	}
}

func TestDialLocalAddrPort(t *testing.T) {
	ln := listen(t, "tcp4", "127.0.0.1:0")
	free, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	local := free.Addr().(*net.TCPAddr)
	free.Close()
	d := &dialer.PairDialer{Selector: newSelector(t), LocalAddr: local}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.LocalAddr().String(); got != local.String() {
		t.Errorf("local address %s, want %s", got, local)
	}
}

// TestDialRefusedLikeNet: a dial with one attempt fails with the error
// net.Dialer gives, unchanged.
func TestDialRefusedLikeNet(t *testing.T) {
	addr := closedAddr(t)
	d := &dialer.PairDialer{Selector: newSelector(t)}
	_, err := d.Dial("tcp", addr)
	_, netErr := (&net.Dialer{}).Dial("tcp", addr)
	if !reflect.DeepEqual(err, netErr) {
		t.Errorf("error %#v, net.Dialer's %#v", err, netErr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) || err.(net.Error).Timeout() {
		t.Errorf("%v: want a refusal, not a timeout", err)
	}
}

// TestDialErrorsLikeNet checks that bad input fails at once with the error
// net.Dialer gives for it: same *net.OpError fields, same Err type and text.
func TestDialErrorsLikeNet(t *testing.T) {
	tests := []struct {
		name, network, address string
		local                  net.Addr
	}{
		{"unknown network", "tcp7", "127.0.0.1:80", nil},
		{"unknown ip protocol", "ip4:nosuchproto", "127.0.0.1", nil},
		{"missing address", "tcp", "", nil},
		{"missing port", "tcp", "127.0.0.1", nil},
		{"missing port v6", "tcp", "::1", nil},
		{"too many colons", "tcp", "::1:80", nil},
		{"missing bracket", "tcp", "[::1:80", nil},
		{"port out of range", "tcp", "127.0.0.1:65536", nil},
		{"unknown service", "udp", "127.0.0.1:no-such-service", nil},
		{"mismatched local address", "tcp", "127.0.0.1:80", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}},
		{"mismatched local address udp", "udp6", "[::1]:53", &net.TCPAddr{IP: net.IPv6loopback}},
	}
	sel := newSelector(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &dialer.PairDialer{Selector: sel, LocalAddr: tt.local, Resolver: noDNSResolver()}
			nd := &net.Dialer{LocalAddr: tt.local, Resolver: noDNSResolver()}
			c, err := d.Dial(tt.network, tt.address)
			if c != nil {
				c.Close()
			}
			want := dialErr(t, nd, tt.network, tt.address)
			var oe *net.OpError
			if !errors.As(err, &oe) {
				t.Fatalf("error %#v, want a *net.OpError", err)
			}
			if oe.Op != want.Op || oe.Net != want.Net || oe.Source != nil || oe.Addr != nil {
				t.Errorf("OpError{%q %q %v %v}, want {%q %q <nil> <nil>}", oe.Op, oe.Net, oe.Source, oe.Addr, want.Op, want.Net)
			}
			if reflect.TypeOf(oe.Err) != reflect.TypeOf(want.Err) || oe.Err.Error() != want.Err.Error() {
				t.Errorf("Err = %T %q, net.Dialer's is %T %q", oe.Err, oe.Err, want.Err, want.Err)
			}
		})
	}
}

// dialErr returns net.Dialer's error for input that must fail before any
// connect.
func dialErr(t *testing.T, nd *net.Dialer, network, address string) *net.OpError {
	t.Helper()
	c, err := nd.Dial(network, address)
	if c != nil {
		c.Close()
		t.Fatalf("net.Dialer connected to %s %q", network, address)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("net.Dialer: %#v, want a *net.OpError", err)
	}
	return oe
}

func TestDialUnknownHost(t *testing.T) {
	d := &dialer.PairDialer{Selector: newSelector(t), Resolver: noDNSResolver()}
	_, err := d.Dial("tcp", "nonexistent.invalid:80")
	var oe *net.OpError
	var de *net.DNSError
	if !errors.As(err, &oe) || oe.Op != "dial" || oe.Addr != nil || !errors.As(err, &de) {
		t.Fatalf("error %#v, want a *net.OpError wrapping a *net.DNSError", err)
	}
}

func TestDialContextEnded(t *testing.T) {
	addr := listen(t, "tcp4", "127.0.0.1:0").Addr().String()
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		d       dialer.PairDialer
		target  error
		timeout bool
	}{
		{"deadline passed", t.Context(), dialer.PairDialer{Deadline: time.Now().Add(-time.Second)}, context.DeadlineExceeded, true},
		{"negative timeout", t.Context(), dialer.PairDialer{Timeout: -time.Second}, context.DeadlineExceeded, true},
		{"context canceled", canceled, dialer.PairDialer{}, context.Canceled, false},
	}
	sel := newSelector(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &tt.d
			d.Selector = sel
			nd := &net.Dialer{Deadline: d.Deadline, Timeout: d.Timeout}
			c, err := d.DialContext(tt.ctx, "tcp", addr)
			if c != nil {
				c.Close()
			}
			_, netErr := nd.DialContext(tt.ctx, "tcp", addr)
			for _, e := range []error{err, netErr} {
				var ne net.Error
				if !errors.As(e, &ne) || ne.Timeout() != tt.timeout || !errors.Is(e, tt.target) {
					t.Errorf("%v: want Timeout() %v and errors.Is %v", e, tt.timeout, tt.target)
				}
			}
		})
	}
}

func TestDialUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	defer func() { pc.Close(); <-done }()
	d := &dialer.PairDialer{Selector: newSelector(t)}
	c, err := d.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.UDPConn); !ok {
		t.Errorf("got a %T, want a *net.UDPConn", c)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	ping(t, c)
}

func TestDialUnixByNetDialer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	listen(t, "unix", path)
	d := &dialer.PairDialer{Selector: newSelector(t)}
	c, err := d.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.(*net.UnixConn); !ok {
		t.Errorf("got a %T, want a *net.UnixConn", c)
	}
	ping(t, c)
}

func TestHTTPTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from "+r.Host)
	}))
	defer srv.Close()
	d := &dialer.PairDialer{Selector: newSelector(t)}
	tr := &http.Transport{DialContext: d.DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "hello from "+srv.Listener.Addr().String() {
		t.Errorf("body %q, %v", body, err)
	}
}

func TestProxyDialer(t *testing.T) {
	ln := listen(t, "tcp4", "127.0.0.1:0")
	var cd proxy.ContextDialer = &dialer.PairDialer{Selector: newSelector(t)}
	c, err := cd.DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ping(t, c)
}

func TestConcurrentDials(t *testing.T) {
	ln := listen(t, "tcp4", "127.0.0.1:0")
	d := &dialer.PairDialer{Selector: newSelector(t), Timeout: 10 * time.Second}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			c, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			c.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
