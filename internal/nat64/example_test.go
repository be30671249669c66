package nat64_test

import (
	"fmt"
	"net/netip"

	"github.com/getapr/getapr/internal/nat64"
)

func ExampleSynthesize() {
	pref64 := netip.MustParsePrefix("2001:db8:6464::/96")
	v6, _ := nat64.Synthesize(pref64, netip.MustParseAddr("192.0.2.10"))
	v4, _ := nat64.Extract(pref64, v6)
	_, ok := nat64.Synthesize(pref64, netip.MustParseAddr("127.0.0.1"))
	fmt.Println(v6, v4, ok)
	// Output: 2001:db8:6464::c000:20a 192.0.2.10 false
}

func ExampleParseOption() {
	// A PREF64 option: type 38, length 2, 1800 s (225 units of 8 s), PLC 0 (/96).
	b := []byte{38, 2, 0x07, 0x08, 0x20, 0x01, 0x0d, 0xb8, 0x64, 0x64, 0, 0, 0, 0, 0, 0}
	o, err := nat64.ParseOption(b)
	fmt.Println(o.Prefix, o.Lifetime, err)
	// Output: 2001:db8:6464::/96 30m0s <nil>
}

func ExamplePrefixesFromAnswers() {
	// What a DNS64 with the Well-Known Prefix answers for ipv4only.arpa AAAA.
	answers := []netip.Addr{netip.MustParseAddr("64:ff9b::c000:aa"), netip.MustParseAddr("64:ff9b::c000:ab")}
	fmt.Println(nat64.PrefixesFromAnswers(answers))
	// Output: [64:ff9b::/96]
}
