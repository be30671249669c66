package dialer_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/getapr/getapr/dialer"
)

// TestNilContextPanicsAsNet: net.Dialer's DialContext, DialTCP and DialUDP
// panic with "nil context" whatever else is wrong with the call, before they
// look at the network. PairDialer's DialTCP and DialUDP returned an
// UnknownNetworkError for a network that is not theirs instead.
func TestNilContextPanicsAsNet(t *testing.T) {
	sel := newSelector(t)
	raddr := netip.MustParseAddrPort("127.0.0.1:9")
	catch := func(f func()) (p string) {
		defer func() {
			if r := recover(); r != nil {
				p = fmt.Sprint(r)
			}
		}()
		f()
		return "(none)"
	}
	var nilCtx context.Context
	pd := &dialer.PairDialer{Selector: sel}
	nd := &net.Dialer{}
	for _, tc := range []struct {
		name      string
		pair, net func()
	}{
		{"DialTCP udp", func() { pd.DialTCP(nilCtx, "udp", netip.AddrPort{}, raddr) }, func() { nd.DialTCP(nilCtx, "udp", netip.AddrPort{}, raddr) }},
		{"DialTCP tcp7", func() { pd.DialTCP(nilCtx, "tcp7", netip.AddrPort{}, raddr) }, func() { nd.DialTCP(nilCtx, "tcp7", netip.AddrPort{}, raddr) }},
		{"DialUDP tcp", func() { pd.DialUDP(nilCtx, "tcp", netip.AddrPort{}, raddr) }, func() { nd.DialUDP(nilCtx, "tcp", netip.AddrPort{}, raddr) }},
		{"DialContext tcp7", func() { pd.DialContext(nilCtx, "tcp7", raddr.String()) }, func() { nd.DialContext(nilCtx, "tcp7", raddr.String()) }},
	} {
		if got, want := catch(tc.pair), catch(tc.net); got != want {
			t.Errorf("%s with a nil context: PairDialer's panic %q, net.Dialer's %q", tc.name, got, want)
		}
	}
}
