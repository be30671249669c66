package pairs

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		host    string
		ip      string // "" for a name or an error
		name    string
		errText string // substring of the error
	}{
		{host: "example.com", name: "example.com"},
		{host: "example.com.", name: "example.com."},
		{host: "_srv.example", name: "_srv.example"},
		{host: "192.0.2.1", ip: "192.0.2.1"},
		{host: "2001:db8::1", ip: "2001:db8::1"},
		{host: "fe80::1%eth0", ip: "fe80::1%eth0"},
		{host: "2001:db8::1%eth0", ip: "2001:db8::1"}, // zone dropped off link-local
		{host: "ff02::fb%eth0", ip: "ff02::fb%eth0"},  // kept on link-local multicast
		{host: "ff01::1%eth0", ip: "ff01::1%eth0"},    // and interface-local
		{host: "ff05::1%eth0", ip: "ff05::1"},
		{host: "::ffff:192.0.2.1", ip: "192.0.2.1"},
		{host: "", errText: "missing host"},
		{host: "[2001:db8::1]", errText: "brackets"},
		// Not literals: names for the resolver, which finds them in the hosts
		// file or says "no such host" without asking DNS, as for net.Dialer.
		{host: "fe80::1%", name: "fe80::1%"},
		{host: "192.0.2.1%eth0", name: "192.0.2.1%eth0"},
		{host: "host:80", name: "host:80"},
		{host: "-bad.example", name: "-bad.example"},
		{host: "db+1", name: "db+1"},
		{host: strings.Repeat("a", 64) + ".example", name: strings.Repeat("a", 64) + ".example"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			ip, name, err := parseHost(tt.host)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("parseHost(%q) error = %v, want one containing %q", tt.host, err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseHost(%q): %v", tt.host, err)
			}
			if got := ipString(ip); got != tt.ip || name != tt.name {
				t.Errorf("parseHost(%q) = %q, %q; want %q, %q", tt.host, got, name, tt.ip, tt.name)
			}
		})
	}
}

func ipString(ip netip.Addr) string {
	if !ip.IsValid() {
		return ""
	}
	return ip.String()
}

func TestParseNetwork(t *testing.T) {
	tests := []struct {
		network string
		base    string
		f       family
		bad     bool
	}{
		{"", "tcp", family{true, true}, false},
		{"tcp", "tcp", family{true, true}, false},
		{"tcp4", "tcp", family{v4: true}, false},
		{"udp6", "udp", family{v6: true}, false},
		{"ip", "ip", family{true, true}, false},
		{"unix", "", family{}, true},
		{"tcp5", "", family{}, true},
	}
	for _, tt := range tests {
		base, f, err := parseNetwork(tt.network)
		if tt.bad {
			if _, ok := errors.AsType[net.UnknownNetworkError](err); !ok {
				t.Errorf("parseNetwork(%q) error = %v, want UnknownNetworkError", tt.network, err)
			}
			continue
		}
		if err != nil || base != tt.base || f != tt.f {
			t.Errorf("parseNetwork(%q) = %q, %+v, %v; want %q, %+v", tt.network, base, f, err, tt.base, tt.f)
		}
	}
}

// FuzzParseHost checks that host parsing never panics, that it either gives a
// literal, a name or an error, and that what it accepts is consistent: a literal
// round-trips, a name is not an IP literal.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"example.com", "fe80::1%eth0", "192.0.2.1", "[::1]", "::ffff:1.2.3.4",
		"fe80::1%", "a..b", "xn--bcher-kva.example", "1.2.3.4%x", "%", ":", "2001:db8::1%25eth0"} {
		f.Add(s, 443)
	}
	f.Fuzz(func(t *testing.T, host string, port int) {
		ip, name, err := parseHost(host)
		_, perr := checkPort(port)
		if (perr == nil) != (port >= 0 && port <= 65535) {
			t.Fatalf("checkPort(%d) = %v", port, perr)
		}
		if err != nil {
			if ip.IsValid() || name != "" {
				t.Fatalf("parseHost(%q) = %v, %q with error %v", host, ip, name, err)
			}
			if err.Error() == "" {
				t.Fatalf("parseHost(%q): empty error text", host)
			}
			return
		}
		switch {
		case ip.IsValid() == (name != ""):
			t.Fatalf("parseHost(%q) = %v, %q: want exactly one of literal and name", host, ip, name)
		case ip.IsValid():
			if ip.Is4In6() || (ip.Zone() != "" && !ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() && !ip.IsInterfaceLocalMulticast()) {
				t.Fatalf("parseHost(%q) = %v: not normalized", host, ip)
			}
			back, err := netip.ParseAddr(ip.String())
			if err != nil || back != ip {
				t.Fatalf("parseHost(%q) = %v does not round-trip: %v", host, ip, err)
			}
		default:
			if _, err := netip.ParseAddr(name); err == nil || name != host {
				t.Fatalf("parseHost(%q): name %q", host, name)
			}
		}
	})
}
