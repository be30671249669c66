package dnsstub

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var cmpAddrs = cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})

func servers(ss ...string) []netip.AddrPort {
	var out []netip.AddrPort
	for _, s := range ss {
		out = append(out, netip.AddrPortFrom(netip.MustParseAddr(s), 53))
	}
	return out
}

func TestParseConfig(t *testing.T) {
	def := DefaultConfig()
	for _, tc := range []struct {
		name, text string
		want       Config
	}{
		{"empty: loopback servers and defaults", "", *def},
		{"servers in order, comments and junk skipped",
			"# comment\nnameserver 192.0.2.53\nnameserver 2001:db8::53 ; trailing\nnameserver not-an-ip\n" +
				"nameserver fe80::1%eth0\nbogus line\n",
			Config{Servers: servers("192.0.2.53", "2001:db8::53", "fe80::1%eth0"),
				Ndots: 1, Timeout: 5 * time.Second, Attempts: 2}},
		{"the first three servers only, as glibc's and Go's MAXNS",
			"nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 192.0.2.55\nnameserver 192.0.2.56\nnameserver 192.0.2.57\n",
			Config{Servers: servers("192.0.2.53", "192.0.2.54", "192.0.2.55"),
				Ndots: 1, Timeout: 5 * time.Second, Attempts: 2}},
		{"search: the last line wins, canonical; domain replaced by search",
			"nameserver 127.0.0.53\ndomain Old.Example\nsearch Lab.Example other.example. .\n",
			Config{Servers: servers("127.0.0.53"), Search: []string{"lab.example.", "other.example."},
				Ndots: 1, Timeout: 5 * time.Second, Attempts: 2}},
		{"domain after search replaces it",
			"search a.example b.example\ndomain c.example\n",
			Config{Servers: def.Servers, Search: []string{"c.example."}, Ndots: 1, Timeout: 5 * time.Second, Attempts: 2}},
		{"options, capped as glibc caps them",
			"options ndots:3 timeout:2 attempts:4 rotate\noptions use-vc edns0 single-request\n",
			Config{Servers: def.Servers, Ndots: 3, Timeout: 2 * time.Second, Attempts: 4, Rotate: true, UseTCP: true}},
		{"options out of range",
			"options ndots:99 timeout:0 attempts:0\noptions timeout:600 attempts:9 ndots:-1 ndots:x\n",
			Config{Servers: def.Servers, Ndots: 15, Timeout: 30 * time.Second, Attempts: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfig(strings.NewReader(tc.text))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(&tc.want, got, cmpAddrs, cmpopts.IgnoreUnexported(Config{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestReadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(path, []byte("nameserver 192.0.2.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfig(path)
	if err != nil || len(c.Servers) != 1 {
		t.Errorf("ReadConfig = %+v, %v", c, err)
	}
	if _, err := ReadConfig(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("ReadConfig of a missing file: no error")
	}
}

func TestNameList(t *testing.T) {
	c := &Config{Ndots: 1, Search: []string{"lab.example.", "example."}}
	long := strings.Repeat("a", 249) + ".xyz" // 253 bytes: the longest name
	for _, tc := range []struct {
		name  string
		ndots int
		want  []string
	}{
		{"rooted.", 1, []string{"rooted."}},
		{"Host", 1, []string{"host.lab.example.", "host.example.", "host."}},
		{"www.Example.com", 1, []string{"www.example.com.", "www.example.com.lab.example.", "www.example.com.example."}},
		{"www.example.com", 3, []string{"www.example.com.lab.example.", "www.example.com.example.", "www.example.com."}},
		{long, 1, []string{long + "."}}, // the suffixed names are too long
		{"", 1, nil},
		{strings.Repeat("a", 255), 1, nil},
	} {
		c.Ndots = tc.ndots
		if d := cmp.Diff(tc.want, c.NameList(tc.name)); d != "" {
			t.Errorf("NameList(%q) ndots %d (-want +got):\n%s", tc.name, tc.ndots, d)
		}
	}
}

// FuzzParseConfig: any text parses to a usable configuration, and the same
// text parses the same way twice.
func FuzzParseConfig(f *testing.F) {
	f.Add("nameserver 192.0.2.53\nsearch a.example b\noptions ndots:2 timeout:1 attempts:3 rotate use-vc\n")
	f.Add("domain x\nnameserver fe80::1%eth0\n#c\n;c\noptions ndots:")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseConfig(strings.NewReader(text))
		if err != nil {
			return // a line longer than the scanner takes
		}
		if len(c.Servers) == 0 || c.Ndots < 0 || c.Ndots > MaxNdots || c.Timeout < time.Second ||
			c.Timeout > MaxTimeout || c.Attempts < 1 || c.Attempts > MaxAttempts {
			t.Fatalf("unusable config %+v", c)
		}
		for _, s := range c.Search {
			if s == "" || s[len(s)-1] != '.' || s == "." {
				t.Fatalf("search entry %q", s)
			}
		}
		again, _ := ParseConfig(strings.NewReader(text))
		if d := cmp.Diff(c, again, cmpAddrs, cmpopts.IgnoreUnexported(Config{})); d != "" {
			t.Fatalf("not deterministic:\n%s", d)
		}
	})
}
