//go:build lab

package lab_test

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// TestBulkTransfer moves 16 MiB each way through both relays: GSO frames must
// cross them whole (PACKET_VNET_HDR) and nothing may be lost for good.
func TestBulkTransfer(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	const size = 8 << 20
	for i := range 2 {
		u := l.Uplink(i)
		t.Run(u.Interface, func(t *testing.T) {
			ln, err := l.Listen("tcp", netip.AddrPortFrom(s.Open6, 0).String())
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			got := make(chan int64, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- -1
					return
				}
				defer c.Close()
				if _, err := io.CopyN(c, zeros{}, size); err != nil {
					got <- -1
					return
				}
				n, _ := io.Copy(io.Discard, c)
				got <- n
			}()
			c, _, err := dial(u.GUA, netip.MustParseAddrPort(ln.Addr().String()), 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			_ = c.SetDeadline(start.Add(20 * time.Second))
			down, err := io.CopyN(io.Discard, c, size)
			if err != nil {
				t.Fatalf("download: %d bytes, %v", down, err)
			}
			if _, err := io.CopyN(c, zeros{}, size); err != nil {
				t.Fatalf("upload: %v", err)
			}
			c.(*net.TCPConn).CloseWrite()
			if up := <-got; up != size {
				t.Fatalf("server received %d bytes; want %d", up, size)
			}
			el := time.Since(start)
			t.Logf("2 x %d MiB over rtt %v in %v (%.0f Mbit/s)", size>>20, u.RTT, el, 2*size*8/el.Seconds()/1e6)
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
