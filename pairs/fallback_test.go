package pairs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/getapr/getapr/netstate"
)

// TestAttemptsLikeNetDialer checks the destinations and local addresses
// net.Dialer accepts: what Attempts returns for them, as (source, destination,
// fallback) triples, or the error net.Dialer gives.
func TestAttemptsLikeNetDialer(t *testing.T) {
	s, _ := newTestSelector(t, homeSnapshot(), fakeDNS{
		"both.test": {ip("2001:db8:2::1"), ip("198.51.100.1")},
		"v6.test":   {ip("2001:db8:2::1")},
	})
	type pair struct {
		src, dst string
		fallback bool
	}
	tests := []struct {
		name, network, host, local string
		want                       []pair
		wantErr                    string
	}{
		{"unspecified IPv4 is the local system", "tcp", "0.0.0.0", "",
			[]pair{{"0.0.0.0:0", "0.0.0.0:80", true}}, ""},
		// With 0.0.0.0 after it, as net.Dialer adds (Go issue 18806).
		{"unspecified IPv6 is the local system", "tcp", "::", "",
			[]pair{{"[::]:0", "[::]:80", true}, {"0.0.0.0:0", "0.0.0.0:80", true}}, ""},
		{"unspecified IPv6 on tcp4 is 0.0.0.0", "tcp4", "::", "",
			[]pair{{"0.0.0.0:0", "0.0.0.0:80", true}}, ""},
		{"multicast", "udp", "239.255.255.250", "",
			[]pair{{"0.0.0.0:0", "239.255.255.250:80", true}}, ""},
		{"link-local multicast keeps its zone", "udp", "ff02::fb%eth0", "",
			[]pair{{"[::]:0", "[ff02::fb%eth0]:80", true}}, ""},
		{"a zone on global multicast is dropped", "udp", "ff0e::1%eth0", "",
			[]pair{{"[::]:0", "[ff0e::1]:80", true}}, ""},
		{"broadcast", "udp", "255.255.255.255", "",
			[]pair{{"0.0.0.0:0", "255.255.255.255:80", true}}, ""},
		{"one of the host's addresses, from itself", "tcp", "2001:db8:1::10", "",
			[]pair{{"[2001:db8:1::10]:0", "[2001:db8:1::10]:80", false}}, ""},
		{"the host's IPv4 address", "tcp", "192.168.1.10", "",
			[]pair{{"192.168.1.10:0", "192.168.1.10:80", false}}, ""},
		{"a loopback alias as LocalAddr", "tcp", "127.0.0.1", "127.0.0.2:0",
			[]pair{{"127.0.0.2:0", "127.0.0.1:80", false}}, ""},
		{"a LocalAddr that is not a source here", "tcp", "198.51.100.1", "192.0.2.99:0",
			[]pair{{"192.0.2.99:0", "198.51.100.1:80", true}}, ""},
		{"a non-loopback LocalAddr to loopback", "tcp", "127.0.0.1", "192.168.1.10:0",
			[]pair{{"192.168.1.10:0", "127.0.0.1:80", true}}, ""},
		{"an unspecified IPv4 LocalAddr keeps its port only", "tcp", "2001:db8:2::1", "0.0.0.0:5000",
			[]pair{{"[2001:db8:1::10]:5000", "[2001:db8:2::1]:80", false}, {"[fd00:1::10]:5000", "[2001:db8:2::1]:80", false}}, ""},
		{"a LocalAddr keeps its family of a name", "tcp", "both.test", "192.168.1.10:0",
			[]pair{{"192.168.1.10:0", "198.51.100.1:80", false}}, ""},
		{"a LocalAddr of the other family", "tcp", "2001:db8:2::1", "192.168.1.10:0",
			nil, "address 192.168.1.10:0: no suitable address found"},
		{"a name without the LocalAddr's family", "tcp", "v6.test", "192.168.1.10:0",
			nil, "address 192.168.1.10:0: no suitable address found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := Query{Network: tt.network, Host: tt.host, Port: 80}
			if tt.local != "" {
				q.Local = netip.MustParseAddrPort(tt.local)
			}
			ps, err := s.Attempts(context.Background(), q)
			if tt.wantErr != "" {
				if _, ok := errors.AsType[*net.AddrError](err); !ok || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want *net.AddrError %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []pair
			for _, p := range ps {
				got = append(got, pair{p.Src.String(), p.Dst.String(), p.Fallback})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFallbackRoutableFirst checks that when the kernel refuses every pair,
// the fallback puts the destinations it has a route to first.
func TestFallbackRoutableFirst(t *testing.T) {
	s, w := newTestSelector(t, homeSnapshot(), fakeDNS{"both.test": {ip("2001:db8:2::1"), ip("198.51.100.1")}})
	w.SetRouteFunc(func(src, dst netip.Addr) (netstate.Decision, error) {
		if dst.Is4() && !src.IsValid() {
			return netstate.Decision{Src: ip("192.168.1.10"), Index: 2, Interface: "eth0"}, nil
		}
		return netstate.Decision{}, &netstate.RouteError{Src: src, Dst: dst, Kind: netstate.NoRoute}
	})
	ps, err := s.Attempts(context.Background(), Query{Network: "tcp", Host: "both.test", Port: 443})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		if !p.Fallback {
			t.Errorf("pair %v not marked Fallback", p)
		}
		got = append(got, p.Dst.String())
	}
	if want := []string{"198.51.100.1:443", "[2001:db8:2::1]:443"}; !slices.Equal(got, want) {
		t.Errorf("order %q, want %q", got, want)
	}
	if _, err := s.Get(context.Background(), "both.test", 443); !isNoPair(err) {
		t.Errorf("Get: err = %v, want *NoPairError", err)
	}
}

func isNoPair(err error) bool {
	_, ok := errors.AsType[*NoPairError](err)
	return ok
}
