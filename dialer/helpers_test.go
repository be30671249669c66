package dialer_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
)

// loopbackSnapshot is a host with only its loopback interface: the Selector then
// pairs loopback destinations only, and sends nothing anywhere else.
func loopbackSnapshot() *netstate.Snapshot {
	return &netstate.Snapshot{Links: []netstate.Link{
		{Index: 1, Name: "lo", Up: true, Running: true, Loopback: true, MTU: 65536},
	}}
}

// noDNSResolver resolves from /etc/hosts only: any DNS query fails without
// leaving the process.
func noDNSResolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in unit tests")
	}}
}

// newSelector returns a Selector over the loopback snapshot that neither probes
// nor queries DNS, closed when the test ends.
func newSelector(tb testing.TB) *pairs.Selector {
	tb.Helper()
	sel, err := pairs.New(pairs.WithWatcher(netstate.NewStatic(loopbackSnapshot())),
		pairs.WithoutProbing(), pairs.WithResolver(noDNSResolver()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sel.Close() })
	return sel
}

// echoServer accepts connections on ln and echoes what they send, until the
// test ends; then it closes ln and every connection and waits for its
// goroutines.
func echoServer(tb testing.TB, ln net.Listener) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(c, c); c.Close() })
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

// closingListener listens on address and closes each connection it accepts
// at once, until the test or benchmark ends.
func closingListener(tb testing.TB, network, address string) net.Listener {
	tb.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	})
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln
}

// listen returns an echoing listener on address, or skips the test when the
// host lacks that loopback address.
func listen(tb testing.TB, network, address string) net.Listener {
	tb.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		tb.Skipf("cannot listen on %s %s: %v", network, address, err)
	}
	echoServer(tb, ln)
	return ln
}

// port returns ln's port as a string.
func port(ln net.Listener) string {
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

// closedAddr returns a loopback address where nothing listens, on a port
// below the kernel's ephemeral range: a connect from a source port the kernel
// picks could otherwise get the very port, connect to itself (TCP's
// simultaneous open) and be dialed again by net.Dialer (its self-connect
// retry calls Control once more), which a test comparing Control calls would
// take for a difference.
func closedAddr(tb testing.TB) string {
	tb.Helper()
	lo := 32768 // Linux's default
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				lo = n
			}
		}
	}
	for p := lo - 1 - rand.IntN(lo/2); p > 1024; p-- {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	tb.Fatalf("no free loopback port below %d", lo)
	return ""
}

// ping writes a line on c and checks that it comes back.
func ping(tb testing.TB, c net.Conn) {
	tb.Helper()
	const msg = "ping\n"
	if _, err := io.WriteString(c, msg); err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
		tb.Fatalf("echo = %q, %v; want %q", buf, err, msg)
	}
}
