package probe_test

import (
	"bufio"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

func TestParseProbeTarget(t *testing.T) {
	tests := []struct {
		in      string
		want    string // "" when refused
		problem string // a part of the error's text
	}{
		{"192.0.2.1:80", "192.0.2.1:80", ""},
		{"[2001:db8::1]:443", "[2001:db8::1]:443", ""},
		{"198.51.100.7:8080", "198.51.100.7:8080", ""},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1:80", ""},
		{"private:10.0.0.1:80", "10.0.0.1:80", ""},
		{"private:[fd00::1]:443", "[fd00::1]:443", ""},
		{"private:100.64.0.1:80", "100.64.0.1:80", ""},
		{"private:192.0.2.1:80", "192.0.2.1:80", ""},
		{"10.0.0.1:80", "", "private address (rfc1918); write private:"},
		{"[fd00::1]:80", "", "private address (ula)"},
		{"100.64.0.1:80", "", "private address (shared4)"},
		{"127.0.0.1:80", "", "loopback"},
		{"private:127.0.0.1:80", "", "loopback"},
		{"[::1]:80", "", "loopback"},
		{"[::ffff:127.0.0.1]:80", "", "loopback"},
		{"0.0.0.0:80", "", "unspecified"},
		{"0.1.2.3:80", "", "not a unicast"},
		{"[::]:80", "", "unspecified"},
		{"224.0.0.1:80", "", "multicast"},
		{"[ff02::1]:80", "", "multicast"},
		{"255.255.255.255:80", "", "broadcast"},
		{"240.0.0.1:80", "", "reserved"},
		{"169.254.169.254:80", "", "link-local"},
		{"private:169.254.169.254:80", "", "link-local"},
		{"[fe80::1%eth0]:80", "", "link-local"},
		{"[fd00:ec2::254]:80", "", "metadata"},
		{"private:[fd00:ec2::254]:80", "", "metadata"},
		{"private:[fd20:ce::254]:80", "", "metadata"},
		{"private:100.100.100.200:80", "", "metadata"},
		{"168.63.129.16:80", "", "metadata"},
		{"192.0.0.8:80", "", "IETF protocol assignment"},
		{"[100::1]:80", "", "discard-only"},
		{"[64:ff9b::7f00:1]:80", "", "NAT64 address of 127.0.0.1, a loopback"},
		{"[64:ff9b::a00:1]:80", "", "NAT64 address of 10.0.0.1, a private"},
		{"[64:ff9b::c000:201]:80", "[64:ff9b::c000:201]:80", ""},
		{"[2001:db8::1%eth0]:80", "", "zone"},
		{"192.0.2.1:0", "", "port 0"},
		{"192.0.2.1", "", "not an IP:PORT"},
		{"example.com:80", "", "not an IP:PORT"},
		{"private:", "", "not an IP:PORT"},
		{"private:private:10.0.0.1:80", "", "not an IP:PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := probe.ParseProbeTarget(tt.in)
			if tt.want != "" {
				if err != nil || got != netip.MustParseAddrPort(tt.want) {
					t.Errorf("ParseProbeTarget(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.problem) {
				t.Errorf("ParseProbeTarget(%q) = %v, %v; want an error about %q", tt.in, got, err, tt.problem)
			}
		})
	}
}

// FuzzParseProbeTarget checks that no accepted target is one the prober must
// never connect to, whatever the input. The seed corpus is
// testdata/probe/probe-targets.txt.
func FuzzParseProbeTarget(f *testing.F) {
	file, err := os.Open("../testdata/probe/probe-targets.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	for sc := bufio.NewScanner(file); sc.Scan(); {
		f.Add(sc.Text())
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := probe.ParseProbeTarget(s)
		if err != nil {
			if ap.IsValid() || err.Error() == "" {
				t.Fatalf("ParseProbeTarget(%q) = %v with error %v", s, ap, err)
			}
			return
		}
		a := ap.Addr()
		private := strings.HasPrefix(s, probe.PrivateTarget)
		switch c := netstate.Classify(a); {
		case ap.Port() == 0 || a.Zone() != "" || a.Is4In6():
			t.Fatalf("ParseProbeTarget(%q) = %v: port 0, zone or mapped", s, ap)
		case !c.Global() && !(private && c.Translated()):
			t.Fatalf("ParseProbeTarget(%q) = %v of class %v", s, ap, c)
		case probe.CheckProbeTarget(a, private) != nil:
			t.Fatalf("ParseProbeTarget(%q) = %v, which CheckProbeTarget refuses", s, ap)
		}
	})
}
