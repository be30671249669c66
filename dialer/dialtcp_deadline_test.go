package dialer_test

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
)

// TestDialTCPUDPPassedDeadlineLikeNet: when the dialer's own Deadline has
// passed, or its Timeout is negative, net.Dialer's DialTCP and DialUDP still
// make their socket, calling Control once, before they fail with "i/o
// timeout", as they do with a context already ended. PairDialer's checked
// only the caller's context, and called Control no time.
func TestDialTCPUDPPassedDeadlineLikeNet(t *testing.T) {
	sel := newSelector(t)
	tcp := netip.MustParseAddrPort(listen(t, "tcp4", "127.0.0.1:0").Addr().String())
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	udp := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	for _, tc := range []struct {
		name     string
		timeout  time.Duration
		deadline time.Time
	}{
		{"Deadline passed", 0, time.Now().Add(-time.Second)},
		{"Timeout negative", -time.Second, time.Time{}},
	} {
		for _, network := range []string{"tcp", "udp"} {
			t.Run(tc.name+"/"+network, func(t *testing.T) {
				var pl, nl ctlLog
				pd := &dialer.PairDialer{Selector: sel, Control: pl.control, Timeout: tc.timeout, Deadline: tc.deadline}
				nd := &net.Dialer{Control: nl.control, Timeout: tc.timeout, Deadline: tc.deadline}
				var got, want error
				if network == "tcp" {
					c, err := pd.DialTCP(context.Background(), network, netip.AddrPort{}, tcp)
					if c != nil {
						c.Close()
					}
					got = err
					nc, err := nd.DialTCP(context.Background(), network, netip.AddrPort{}, tcp)
					if nc != nil {
						nc.Close()
					}
					want = err
				} else {
					c, err := pd.DialUDP(context.Background(), network, netip.AddrPort{}, udp)
					if c != nil {
						c.Close()
					}
					got = err
					nc, err := nd.DialUDP(context.Background(), network, netip.AddrPort{}, udp)
					if nc != nil {
						nc.Close()
					}
					want = err
				}
				if g, w := opSummary(got), opSummary(want); g != w {
					t.Errorf("error %s, want %s as net.Dialer", g, w)
				}
				if g, w := pl.String(), nl.String(); g != w {
					t.Errorf("Control calls %s, want %s as net.Dialer", g, w)
				}
			})
		}
	}
}
