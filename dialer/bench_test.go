package dialer_test

import (
	"context"
	"net"
	"sync"
	"syscall"
	"testing"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/internal/sockopt"
)

// BenchmarkDial compares a healthy loopback dial through PairDialer (Selector
// ranking, one attempt, outcome report) with net.Dialer's.
func BenchmarkDial(b *testing.B) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
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
	defer func() { ln.Close(); wg.Wait() }()
	addr := ln.Addr().String()

	b.Run("pairdialer", func(b *testing.B) {
		d := &dialer.PairDialer{Selector: newSelector(b)}
		benchDial(b, d.DialContext, addr)
	})
	b.Run("netdialer", func(b *testing.B) {
		d := &net.Dialer{}
		benchDial(b, d.DialContext, addr)
	})
	// net.Dialer binding the source as every PairDialer attempt does: the
	// share of the overhead that comes from the bind itself.
	b.Run("netdialer-bound", func(b *testing.B) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Control: bindNoPort}
		benchDial(b, d.DialContext, addr)
	})
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
