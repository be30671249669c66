package dialer_test

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/internal/sockopt"
)

// BenchmarkDial compares a healthy loopback dial through PairDialer (Selector
// ranking, one attempt, outcome report) with net.Dialer's.
func BenchmarkDial(b *testing.B) {
	ln := closingListener(b, "tcp4", "127.0.0.1:0")
	addr := ln.Addr().String()

	b.Run("pairdialer", func(b *testing.B) {
		d := &dialer.PairDialer{Selector: newSelector(b)}
		benchDial(b, d.DialContext, addr)
	})
	b.Run("netdialer", func(b *testing.B) {
		d := &net.Dialer{}
		benchDial(b, d.DialContext, addr)
	})
	// net.Dialer's netip path (DialTCP), which skips parsing the address.
	b.Run("netdialer-netip", func(b *testing.B) {
		d := &net.Dialer{}
		ap := netip.MustParseAddrPort(addr)
		benchDial(b, func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialTCP(ctx, "tcp", netip.AddrPort{}, ap)
		}, addr)
	})
	// net.Dialer binding the source as every PairDialer attempt does: the
	// share of the overhead that comes from the bind itself.
	b.Run("netdialer-bound", func(b *testing.B) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Control: bindNoPort}
		benchDial(b, d.DialContext, addr)
	})
}

// BenchmarkDialLocalhost compares PairDialer's and net.Dialer's dials to
// "localhost:PORT", a name the system answers for without DNS (the hosts
// file), as sidecars and local databases are dialed. The listener takes both
// families, wherever the hosts file puts localhost.
func BenchmarkDialLocalhost(b *testing.B) {
	ln := closingListener(b, "tcp", "[::]:0")
	addr := net.JoinHostPort("localhost", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	b.Run("pairdialer", func(b *testing.B) {
		d := &dialer.PairDialer{Selector: newSelector(b)}
		benchDial(b, d.DialContext, addr)
	})
	b.Run("netdialer", func(b *testing.B) {
		d := &net.Dialer{}
		benchDial(b, d.DialContext, addr)
	})
}

// BenchmarkDialAB dials a loopback listener with PairDialer and net.Dialer in
// turn, one dial each per iteration (which goes first alternates), as a user
// comparing the two would: both meet the same load from the rest of the
// machine. It reports each one's mean time per dial and their ratio, "x"
// (the target: at most 1.10).
func BenchmarkDialAB(b *testing.B) {
	ln := closingListener(b, "tcp4", "127.0.0.1:0")
	addr := ln.Addr().String()
	pd := &dialer.PairDialer{Selector: newSelector(b)}
	nd := &net.Dialer{}
	dials := [2]func(context.Context, string, string) (net.Conn, error){pd.DialContext, nd.DialContext}
	var spent [2]time.Duration
	ctx := context.Background()
	i := 0
	for b.Loop() {
		for k := range 2 {
			j := (i + k) % 2
			start := time.Now()
			c, err := dials[j](ctx, "tcp", addr)
			spent[j] += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
		i++
	}
	b.ReportMetric(float64(spent[0])/float64(i), "pairdialer-ns/dial")
	b.ReportMetric(float64(spent[1])/float64(i), "netdialer-ns/dial")
	b.ReportMetric(float64(spent[0])/float64(spent[1]), "x")
}

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT (Linux), as PairDialer does.
func bindNoPort(_, _ string, c syscall.RawConn) error { return sockopt.Bind(c, "", true) }

// benchDial dials addr b.N times. Each connection is reset rather than closed
// (SO_LINGER 0), so that the benchmark leaves no TIME_WAIT sockets holding the
// host's ephemeral ports.
func benchDial(b *testing.B, dial func(context.Context, string, string) (net.Conn, error), addr string) {
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		c, err := dial(ctx, "tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
}
