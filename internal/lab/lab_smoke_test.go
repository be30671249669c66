//go:build lab

package lab_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

func TestSmoke(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	for i := range 2 {
		u := l.Uplink(i)
		for _, src := range []netip.Addr{u.GUA, u.IPv4, u.ULA} {
			if !src.IsValid() {
				continue
			}
			dst := s.Open6
			if src.Is4() {
				dst = s.Open4
			}
			d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), Timeout: 2 * time.Second}
			t0 := time.Now()
			c, err := d.DialContext(context.Background(), "tcp", netip.AddrPortFrom(dst, s.Port).String())
			el := time.Since(t0)
			if err != nil {
				t.Errorf("%v -> %v: %v", src, dst, err)
				continue
			}
			peer, err := lab.ReadPeer(c)
			c.Close()
			t.Logf("uplink %d %v -> %v: %v peer %v err %v", i, src, dst, el, peer, err)
		}
	}
}
