package pairs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

func dsts(ps []Pair) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Src.Addr().String() + " " + p.Dst.String()
	}
	return out
}

func TestGetLiteral(t *testing.T) {
	s, _ := newTestSelector(t, homeSnapshot(), nil)
	ctx := context.Background()
	tests := []struct {
		host string
		want []string
	}{
		{"2001:db8:2::1", []string{"2001:db8:1::10 [2001:db8:2::1]:80", "fd00:1::10 [2001:db8:2::1]:80"}},
		{"fd00:2::1", []string{"fd00:1::10 [fd00:2::1]:80"}},
		{"198.51.100.1", []string{"192.168.1.10 198.51.100.1:80"}},
		{"192.168.1.20", []string{"192.168.1.10 192.168.1.20:80"}},
		{"fe80::1", []string{"fe80::10%eth0 [fe80::1%eth0]:80"}},
		{"fe80::1%eth0", []string{"fe80::10%eth0 [fe80::1%eth0]:80"}},
		{"fe80::1%2", []string{"fe80::10%eth0 [fe80::1%eth0]:80"}},
		{"::ffff:198.51.100.1", []string{"192.168.1.10 198.51.100.1:80"}},
		{"127.0.0.1", []string{"127.0.0.1 127.0.0.1:80"}},
		{"::1", []string{"::1 [::1]:80"}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			ps, err := s.Get(ctx, tt.host, 80)
			if err != nil {
				t.Fatal(err)
			}
			if got := dsts(ps); !slicesEqual(got, tt.want) {
				t.Errorf("Get(%q) = %q, want %q", tt.host, got, tt.want)
			}
		})
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAttemptsErrors(t *testing.T) {
	snap := homeSnapshot()
	snap.Addrs = snap.Addrs[:3] // no IPv4 source
	s, _ := newTestSelector(t, snap, fakeDNS{"v4only.test": {ip("198.51.100.1")}})
	ctx := context.Background()

	_, err := s.Attempts(ctx, Query{Network: "tcp", Host: "nosuch.test", Port: 80})
	if dnsErr, ok := errors.AsType[*net.DNSError](err); !ok || !dnsErr.IsNotFound {
		t.Errorf("unknown name: err = %v, want a not-found *net.DNSError", err)
	}
	_, err = s.Get(ctx, "v4only.test", 80)
	if npe, ok := errors.AsType[*NoPairError](err); !ok || len(npe.Reasons) != 1 {
		t.Errorf("no IPv4 source: Get error = %v, want a *NoPairError", err)
	} else if want := "198.51.100.1: no IPv4 source, and no NAT64 prefix (PREF64) to reach it over IPv6"; npe.Reasons[0] != want {
		t.Errorf("reason = %q, want %q", npe.Reasons[0], want)
	}
	// Attempts falls back to what net.Dialer would dial.
	ps, err := s.Attempts(ctx, Query{Network: "tcp", Host: "v4only.test", Port: 80})
	want := Pair{Src: netip.MustParseAddrPort("0.0.0.0:0"), Dst: netip.MustParseAddrPort("198.51.100.1:80"),
		SrcClass: netstate.NotSource, DstClass: netstate.Global4, Fallback: true, NoNAT64: true,
		Reason: "fallback: the kernel's route, as net.Dialer (no IPv4 source, and no NAT64 prefix (PREF64) to reach it over IPv6)"}
	if err != nil || len(ps) != 1 || ps[0] != want {
		t.Errorf("no IPv4 source: Attempts = %+v, %v; want [%+v]", ps, err, want)
	}
	_, err = s.Attempts(ctx, Query{Network: "tcp4", Host: "2001:db8::1", Port: 80})
	if _, ok := errors.AsType[*net.AddrError](err); !ok {
		t.Errorf("tcp4 to an IPv6 literal: err = %v, want a *net.AddrError", err)
	}
	_, err = s.Attempts(ctx, Query{Network: "sctp", Host: "2001:db8::1", Port: 80})
	if _, ok := errors.AsType[net.UnknownNetworkError](err); !ok {
		t.Errorf("sctp: err = %v, want net.UnknownNetworkError", err)
	}
}

func TestReportReorders(t *testing.T) {
	snap := homeSnapshot()
	s, _ := newTestSelector(t, snap, fakeDNS{"server.test": {ip("2001:db8:2::1"), ip("198.51.100.1")}})
	ctx := context.Background()
	ps, err := s.Get(ctx, "server.test", 443)
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Dst.Addr() != ip("2001:db8:2::1") || ps[0].Basis != Assumed {
		t.Fatalf("before any report, first pair = %+v", ps[0])
	}
	// IPv4 measured fast: it must now come first.
	s.Report(probe.Outcome{
		Path:     probe.Path{Src: netip.AddrPortFrom(ip("192.168.1.10"), 0), Dst: netip.MustParseAddrPort("198.51.100.1:443")},
		Result:   probe.Success,
		Start:    time.Now(),
		Duration: 20 * time.Millisecond,
	})
	ps, err = s.Get(ctx, "server.test", 443)
	if err != nil {
		t.Fatal(err)
	}
	if ps[0].Dst.Addr() != ip("198.51.100.1") || ps[0].Basis != Measured {
		t.Errorf("after a fast IPv4 report, first pair = %+v", ps[0])
	}
	if ps[0].Reason != "measured 20ms" {
		t.Errorf("reason = %q", ps[0].Reason)
	}
}

func TestLocalAddrRestricts(t *testing.T) {
	s, _ := newTestSelector(t, homeSnapshot(), fakeDNS{"server.test": {ip("2001:db8:2::1"), ip("198.51.100.1")}})
	ps, err := s.Attempts(context.Background(), Query{Host: "server.test", Port: 443,
		Local: netip.MustParseAddrPort("[fd00:1::10]:5555")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fd00:1::10 [2001:db8:2::1]:443"}
	if got := dsts(ps); !slicesEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if ps[0].Src.Port() != 5555 {
		t.Errorf("Src port = %d, want 5555", ps[0].Src.Port())
	}
}

// An IPv4-mapped Local is its IPv4 address, as net.Dialer takes it (a
// 16-byte net.IP made into a netip.Addr is mapped), for Attempts and Stream.
func TestLocalAddrMapped(t *testing.T) {
	s, _ := newTestSelector(t, homeSnapshot(), fakeDNS{"server.test": {ip("2001:db8:2::1"), ip("198.51.100.1")}})
	q := Query{Host: "server.test", Port: 443, Local: netip.MustParseAddrPort("[::ffff:192.168.1.10]:5555")}
	want := []string{"192.168.1.10 198.51.100.1:443"}
	ps, err := s.Attempts(context.Background(), q)
	if got := dsts(ps); err != nil || !slicesEqual(got, want) || ps[0].Src != netip.MustParseAddrPort("192.168.1.10:5555") {
		t.Errorf("Attempts: %q, %v; want %q from port 5555", got, err, want)
	}
	st, err := s.Stream(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	awaitDone(st)
	if got := take(st); !slicesEqual(got, want) {
		t.Errorf("Stream: %q; want %q", got, want)
	}
}

func TestLookupNetIP(t *testing.T) {
	dns := fakeDNS{"server.test": {ip("2001:db8:2::1"), ip("169.254.1.1"), ip("fd00:2::1"), ip("198.51.100.1")}}
	s, _ := newTestSelector(t, homeSnapshot(), dns)
	ctx := context.Background()
	s.Report(probe.Outcome{
		Path:     probe.Path{Src: netip.MustParseAddrPort("192.168.1.10:0"), Dst: netip.MustParseAddrPort("198.51.100.1:80")},
		Result:   probe.Success,
		Start:    time.Now(),
		Duration: 15 * time.Millisecond,
	})
	tests := []struct {
		network string
		want    []string
	}{
		// 169.254.1.1 has no pair (no IPv4 link-local source): it comes last.
		{"ip", []string{"198.51.100.1", "fd00:2::1", "2001:db8:2::1", "169.254.1.1"}},
		{"ip4", []string{"198.51.100.1", "169.254.1.1"}},
		{"ip6", []string{"fd00:2::1", "2001:db8:2::1"}},
	}
	for _, tt := range tests {
		got, err := s.LookupNetIP(ctx, tt.network, "server.test")
		if err != nil {
			t.Fatalf("%s: %v", tt.network, err)
		}
		var gs []string
		for _, a := range got {
			gs = append(gs, a.String())
		}
		if !slicesEqual(gs, tt.want) {
			t.Errorf("LookupNetIP(%s) = %q, want %q", tt.network, gs, tt.want)
		}
	}
	if _, err := s.LookupNetIP(ctx, "tcp", "server.test"); err == nil {
		t.Error("LookupNetIP(tcp) succeeded")
	}
	_, err := s.LookupNetIP(ctx, "ip", "nosuch.test")
	if dnsErr, ok := errors.AsType[*net.DNSError](err); !ok || !dnsErr.IsNotFound {
		t.Errorf("unknown name: %v", err)
	}
}

func TestEmptyHostIsLoopback(t *testing.T) {
	s, _ := newTestSelector(t, homeSnapshot(), nil)
	tests := []struct {
		network string
		want    []string
	}{
		{"tcp", []string{"::1 [::1]:8080", "127.0.0.1 127.0.0.1:8080"}},
		{"udp4", []string{"127.0.0.1 127.0.0.1:8080"}},
	}
	for _, tt := range tests {
		ps, err := s.Attempts(context.Background(), Query{Network: tt.network, Port: 8080})
		if err != nil {
			t.Fatal(err)
		}
		if got := dsts(ps); !slicesEqual(got, tt.want) {
			t.Errorf("%s: got %q, want %q", tt.network, got, tt.want)
		}
		if ps[0].Interface != "lo" || ps[0].SrcClass != netstate.Loopback {
			t.Errorf("loopback pair = %+v", ps[0])
		}
	}
}

// TestNamesForTheResolver checks that a host that is no IP literal goes to the
// resolver even when it is no DNS name: a hosts file may list "db+1" (Go's
// resolver finds it there, as for net.Dialer), and the resolver, not the
// Selector, says "no such host" for the others.
func TestNamesForTheResolver(t *testing.T) {
	s, _ := newTestSelector(t, homeSnapshot(), fakeDNS{"db+1": {ip("192.168.1.20")}})
	ps, err := s.Get(t.Context(), "db+1", 80)
	if err != nil || len(ps) == 0 || ps[0].Dst.Addr() != ip("192.168.1.20") {
		t.Errorf("Get(db+1) = %v, %v; want the hosts file's address", ps, err)
	}
	for _, host := range []string{"127.0.0.1%lo", "fe80::1%", "sp ace"} {
		_, err := s.Get(t.Context(), host, 80)
		if de, ok := errors.AsType[*net.DNSError](err); !ok || !de.IsNotFound {
			t.Errorf("Get(%q): %v; want the resolver's not found", host, err)
		}
	}
}
