package dialer_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/dialer"
)

// TestStrictErrorsFailTheDialAsNet: with a Resolver whose StrictErrors is
// set, a name whose AAAA (or A) query fails temporarily (SERVFAIL) while the
// other family answers fails net.Dialer's dial with that lookup's error,
// instead of going on with the partial answer. PairDialer, whose lookups
// are one per family, once connected to the family that answered. Without
// StrictErrors both connect.
func TestStrictErrorsFailTheDialAsNet(t *testing.T) {
	ln := listen(t, "tcp", "127.0.0.1:0")
	listen(t, "tcp", "[::1]:"+port(ln))
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	both := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	dns, err := newFailingDNS(map[string][]netip.Addr{"aaaa-fails.test": both, "a-fails.test": both},
		map[string][]dnsmessage.Type{"aaaa-fails.test": {dnsmessage.TypeAAAA}, "a-fails.test": {dnsmessage.TypeA}})
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	sel := newSelector(t)
	_, udpPort, _ := net.SplitHostPort(pc.LocalAddr().String())
	for _, strict := range []bool{false, true} {
		r := dns.Resolver()
		r.StrictErrors = strict
		for _, host := range []string{"aaaa-fails.test", "a-fails.test"} {
			for _, tc := range []struct {
				network, port string
				fallback      bool // FallbackDelay negative: every answer waited for
			}{{"tcp", port(ln), false}, {"tcp", port(ln), true}, {"udp", udpPort, false}} {
				name := fmt.Sprintf("strict=%v/%s/%s/fallback<0=%v", strict, host, tc.network, tc.fallback)
				t.Run(name, func(t *testing.T) {
					nd := &net.Dialer{Resolver: r}
					pd := &dialer.PairDialer{Resolver: r, Selector: sel}
					if tc.fallback {
						nd.FallbackDelay, pd.FallbackDelay = -1, -1
					}
					address := net.JoinHostPort(host, tc.port)
					want := strictOutcome(nd.DialContext(context.Background(), tc.network, address))
					got := strictOutcome(pd.DialContext(context.Background(), tc.network, address))
					if got != want {
						t.Errorf("PairDialer: %s\nnet.Dialer: %s", got, want)
					}
				})
			}
		}
	}
}

// strictOutcome is what the test compares of a dial: that it connected, or
// its error's text and what its *net.DNSError says.
func strictOutcome(c net.Conn, err error) string {
	if err == nil {
		c.Close()
		return "connected"
	}
	var de *net.DNSError
	if errors.As(err, &de) {
		return fmt.Sprintf("%q (DNSError IsTemporary=%v IsTimeout=%v IsNotFound=%v)", err, de.IsTemporary, de.IsTimeout, de.IsNotFound)
	}
	return fmt.Sprintf("%q (%T)", err, err)
}
