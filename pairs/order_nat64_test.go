package pairs

import (
	"context"
	"slices"
	"testing"
)

// TestOrderSynthesizedIsIPv4: a pair through a NAT64 stands for an IPv4
// destination, and takes the IPv4 turn when families interleave (HEv3
// "Discovering and Utilizing PREF64": synthesized addresses go into the list
// "as if they were results from DNS A queries"). On an IPv6-only host with a
// PREF64, a name with two AAAA and one A then has its translated path second,
// 250 ms into the race, as the IPv4 pair is on a dual-stack host, not after
// every native IPv6 pair (the draft's "broken AAAA" case, which the path
// through the NAT64 rescues).
func TestOrderSynthesizedIsIPv4(t *testing.T) {
	const (
		gua0, gua1, dep1 = "2001:db8:a:1::100", "2001:db8:b:1::100", "2001:db8:b:1::200"
		d1, d2           = "2001:db8:5::10", "2001:db8:5::11"
		synth            = "2001:db8:6464::c000:20a [192.0.2.10]"
	)
	dns := fakeDNS{"two.test": {ip(d1), ip(d2), ip("192.0.2.10")}}
	s, _ := newTestSelector(t, ipv6Only(routedNAT64Snapshot(true)), dns)
	ps, err := s.Attempts(context.Background(), Query{Network: "tcp", Host: "two.test", Port: 80})
	if err != nil {
		t.Fatal(err)
	}
	got := pairText(ps)
	if i := slices.Index(got, gua1+" -> "+synth); i != 1 {
		t.Errorf("the translated pair is attempt %d; want 1 (second, the IPv4 turn):\n%q", i, got)
	}

	// Order alone: a synthesized pair interleaves with native IPv6 as IPv4.
	six := func(src, dst string) Pair { return p(src + ">" + dst) }
	through := six(gua1, "2001:db8:6464::c000:20a")
	through.Synthesized = ip("192.0.2.10")
	ranked := []Pair{six(gua0, d1), six(gua0, d2), six(gua1, d1), through}
	want := []Pair{ranked[0], ranked[3], ranked[2], ranked[1]} // then another source
	if got := Order(ranked, 1); !slices.EqualFunc(got, want, func(a, b Pair) bool { return keyOf(a) == keyOf(b) }) {
		t.Errorf("Order:\n got %q\nwant %q", pairText(got), pairText(want))
	}
}
