package netstate

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		ip   string
		want Class
	}{
		// Not a source.
		{"", NotSource}, // the zero netip.Addr
		{"0.0.0.0", NotSource},
		{"0.1.2.3", NotSource}, // 0/8, "this network"
		{"::", NotSource},
		{"224.0.0.1", NotSource},
		{"239.255.255.255", NotSource},
		{"240.0.0.1", NotSource}, // 240/4, reserved
		{"255.255.255.254", NotSource},
		{"255.255.255.255", NotSource}, // limited broadcast
		{"ff02::1", NotSource},
		{"ff05::1:3", NotSource},
		{"ff02::1%eth0", NotSource},
		{"::ffff:192.0.2.1", NotSource}, // IPv4-mapped
		{"::ffff:10.0.0.1", NotSource},
		{"::ffff:127.0.0.1", NotSource},
		{"fec0::1", GUA}, // deprecated site-local: netip calls it global unicast
		// Loopback.
		{"127.0.0.1", Loopback},
		{"127.255.255.254", Loopback},
		{"::1", Loopback},
		// IPv6 link-local, zone or not.
		{"fe80::1", LinkLocal6},
		{"fe80::1%eth0", LinkLocal6},
		{"fe80::1%7", LinkLocal6},
		{"febf:ffff::1", LinkLocal6},
		// ULA, the whole fc00::/7.
		{"fc00::1", ULA},
		{"fd12:3456:789a::1", ULA},
		{"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ULA},
		{"fd00::1%eth0", ULA}, // a zone does not change the class
		// GUA, documentation prefix included.
		{"2001:db8::1", GUA},
		{"2001:4860:4860::8888", GUA},
		{"2000::", GUA},
		{"3fff:ffff::1", GUA},
		{"64:ff9b::192.0.2.1", GUA}, // NAT64 well-known prefix
		{"fbff::1", GUA},            // just below fc00::/7
		{"fe00::1", GUA},            // between fc00::/7 and fe80::/10
		// IPv4 link-local.
		{"169.254.0.1", LinkLocal4},
		{"169.254.255.254", LinkLocal4},
		{"169.253.255.255", Global4},
		{"169.255.0.1", Global4},
		// RFC 1918 and its edges.
		{"10.0.0.1", Private4},
		{"10.255.255.255", Private4},
		{"11.0.0.1", Global4},
		{"172.16.0.1", Private4},
		{"172.31.255.255", Private4},
		{"172.15.255.255", Global4},
		{"172.32.0.0", Global4},
		{"192.168.0.1", Private4},
		{"192.168.255.255", Private4},
		{"192.169.0.1", Global4},
		// Shared address space 100.64/10 and its edges.
		{"100.64.0.1", Shared4},
		{"100.127.255.254", Shared4},
		{"100.63.255.255", Global4},
		{"100.128.0.0", Global4},
		// Global IPv4, documentation prefixes included.
		{"192.0.2.1", Global4},
		{"198.51.100.7", Global4},
		{"203.0.113.200", Global4},
		{"8.8.8.8", Global4},
		{"223.255.255.255", Global4},
		{"1.0.0.0", Global4},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			var ip netip.Addr
			if tt.ip != "" {
				ip = netip.MustParseAddr(tt.ip)
			}
			if got := Classify(ip); got != tt.want {
				t.Errorf("Classify(%v) = %v, want %v", ip, got, tt.want)
			}
		})
	}
}

func TestClassPredicates(t *testing.T) {
	tests := []struct {
		c                                                Class
		name                                             string
		is4, is6, linkLocal, translated, global, wantErr bool
	}{
		{c: NotSource, name: "not-a-source"},
		{c: Loopback, name: "loopback"},
		{c: LinkLocal6, name: "link-local6", is6: true, linkLocal: true},
		{c: ULA, name: "ula", is6: true, translated: true},
		{c: GUA, name: "gua", is6: true, global: true},
		{c: LinkLocal4, name: "link-local4", is4: true, linkLocal: true},
		{c: Private4, name: "rfc1918", is4: true, translated: true},
		{c: Shared4, name: "shared4", is4: true, translated: true},
		{c: Global4, name: "global4", is4: true, global: true},
		{c: Class(200), name: "class(?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			got := [5]bool{c.Is4(), c.Is6(), c.LinkLocal(), c.Translated(), c.Global()}
			want := [5]bool{tt.is4, tt.is6, tt.linkLocal, tt.translated, tt.global}
			if got != want {
				t.Errorf("%v: Is4, Is6, LinkLocal, Translated, Global = %v, want %v", c, got, want)
			}
			if c.String() != tt.name {
				t.Errorf("String() = %q, want %q", c.String(), tt.name)
			}
			if b, err := c.MarshalText(); err != nil || string(b) != tt.name {
				t.Errorf("MarshalText() = %q, %v", b, err)
			}
		})
	}
}

func TestRouteErrorUnwrap(t *testing.T) {
	e := &RouteError{Kind: ProhibitedErr, Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("198.51.100.1")}
	if e.Unwrap() != nil {
		t.Errorf("Unwrap without errno = %v", e.Unwrap())
	}
	if got, want := e.Error(), "route from 192.0.2.1 to 198.51.100.1: prohibited"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if RouteErrorKind(99).String() != "route error" {
		t.Errorf("unknown kind String() = %q", RouteErrorKind(99).String())
	}
}
