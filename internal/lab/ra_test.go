package lab

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/nat64"
)

// The lab's PREF64 encoder against the library's decoder, which the tests
// check against the RFC's layout on their own.
func TestPREF64Option(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		give   time.Duration
		want   time.Duration
	}{
		{"2001:db8:6464::/96", 30 * time.Minute, 30 * time.Minute},
		{"2001:db8:122:344::/64", 20 * time.Second, 24 * time.Second}, // rounded up
		{"2001:db8:122:300::/56", time.Second, 8 * time.Second},
		{"2001:db8:122::/48", 0, 0},
		{"2001:db8:100::/40", -time.Second, 0},
		{"2001:db8::/32", 100 * time.Hour, nat64.MaxLifetime},
	} {
		p := netip.MustParsePrefix(tc.prefix)
		b, err := pref64Option(p, tc.give)
		if err != nil {
			t.Fatal(err)
		}
		o, err := nat64.ParseOption(b)
		if err != nil || o.Prefix != p || o.Lifetime != tc.want || len(b) != 16 {
			t.Errorf("%v %v: %x decodes to %+v, %v; want %v %v", p, tc.give, b, o, err, p, tc.want)
		}
	}
	for _, p := range []string{"2001:db8::/33", "192.0.2.0/24"} {
		if _, err := pref64Option(netip.MustParsePrefix(p), time.Minute); err == nil {
			t.Errorf("pref64Option(%s) did not fail", p)
		}
	}
}

func TestRouterAdvert(t *testing.T) {
	opt, err := pref64Option(netip.MustParsePrefix("2001:db8:6464::/96"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	m, err := routerAdvert(opt)
	if err != nil {
		t.Fatal(err)
	}
	// type 134, code 0, checksum (the kernel's), 12 bytes of zero fields, the option.
	want := append([]byte{134, 0, 0, 0}, make([]byte, 12)...)
	if !bytes.Equal(m, append(want, opt...)) {
		t.Fatalf("RA %x; want %x", m, append(want, opt...))
	}
}
