package netstate

import (
	"errors"
	"net/netip"
	"testing"
)

func TestGuessRoute(t *testing.T) {
	s := multihomed()
	ip := netip.MustParseAddr
	tests := []struct {
		name, src, dst string
		want           Decision
		wantKind       RouteErrorKind
	}{
		{name: "source's interface", src: "198.51.100.10", dst: "8.8.8.8",
			want: Decision{Index: 3, Interface: "eth1", Src: ip("198.51.100.10")}},
		{name: "no source: first running interface of the family, source unknown", dst: "2001:db8:ffff::1",
			want: Decision{Index: 2, Interface: "eth0"}},
		{name: "link-local zone", dst: "fe80::1%eth1",
			want: Decision{Index: 3, Interface: "eth1"}},
		{name: "unknown source", src: "192.0.2.99", dst: "8.8.8.8", wantKind: NoRoute},
		{name: "tentative source", src: "2001:db8:a::99", dst: "2001:db8:ffff::1", wantKind: BadSource},
		{name: "family mismatch", src: "192.0.2.10", dst: "2001:db8:ffff::1", wantKind: BadSource},
		{name: "unknown zone", dst: "fe80::1%wlan7", wantKind: NoRoute},
		{name: "unspecified destination", dst: "::", wantKind: NoRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src netip.Addr
			if tt.src != "" {
				src = ip(tt.src)
			}
			got, err := s.guessRoute(src, ip(tt.dst))
			if tt.want != (Decision{}) {
				if err != nil || got != tt.want {
					t.Fatalf("guessRoute = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			var re *RouteError
			if !errors.As(err, &re) || re.Kind != tt.wantKind {
				t.Fatalf("guessRoute = %+v, %v; want %v", got, err, tt.wantKind)
			}
		})
	}
	if _, err := (&Snapshot{}).guessRoute(netip.Addr{}, ip("8.8.8.8")); err == nil {
		t.Error("a host without addresses has a route")
	}
}
