package dialer

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/getapr/getapr/pairs"
)

// TestFirstFamilyFirst: for FallbackDelay < 0, the first family's pairs go
// first within each HTTPS record's group, and no pair moves ahead of a
// better record's.
func TestFirstFamilyFirst(t *testing.T) {
	p1 := &pairs.Service{Priority: 1, Target: "a.test."}
	p2 := &pairs.Service{Priority: 2, Target: "b.test."}
	pair := func(dst string, svc *pairs.Service) pairs.Pair {
		return pairs.Pair{Dst: netip.MustParseAddrPort(dst), Service: svc}
	}
	in := []pairs.Pair{
		pair("[2001:db8::a]:443", p1), pair("192.0.2.1:443", p1), pair("[2001:db8::b]:443", p1),
		pair("[2001:db8::c]:443", p2), pair("192.0.2.2:443", p2),
		pair("192.0.2.3:443", nil), pair("[2001:db8::d]:443", nil),
	}
	var got []string
	for _, p := range firstFamilyFirst(in) {
		got = append(got, p.Dst.String())
	}
	want := []string{"[2001:db8::a]:443", "[2001:db8::b]:443", "192.0.2.1:443",
		"[2001:db8::c]:443", "192.0.2.2:443",
		"192.0.2.3:443", "[2001:db8::d]:443"}
	if !slices.Equal(got, want) {
		t.Errorf("firstFamilyFirst:\n got %q\nwant %q", got, want)
	}

	// A pair through a NAT64 is of the IPv4 family: a fallback, as
	// net.Dialer's IPv4 addresses are.
	nat64 := pairs.Pair{Dst: netip.MustParseAddrPort("[64:ff9b::c000:201]:443"), Synthesized: netip.MustParseAddr("192.0.2.1")}
	got = got[:0]
	for _, p := range firstFamilyFirst([]pairs.Pair{pair("[2001:db8::a]:443", nil), nat64, pair("[2001:db8::b]:443", nil)}) {
		got = append(got, p.Dst.String())
	}
	want = []string{"[2001:db8::a]:443", "[2001:db8::b]:443", "[64:ff9b::c000:201]:443"}
	if !slices.Equal(got, want) {
		t.Errorf("firstFamilyFirst with a NAT64 pair:\n got %q\nwant %q", got, want)
	}
}
