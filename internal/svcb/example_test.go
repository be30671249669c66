package svcb_test

import (
	"fmt"
	"net/netip"

	"github.com/getapr/getapr/internal/svcb"
)

// A dial to www.example:443 by an HTTP/2 client: the HTTPS answer arrives
// first, with hints; the endpoints are usable at once, and the AAAA answer
// then replaces the IPv6 hint.
func ExampleAnswers() {
	a := svcb.NewAnswers("www.example", 443, []string{"h2", "http/1.1"})
	a.SetServices("www.example.", []svcb.Record{
		{Priority: 1, Target: ".", ALPN: []string{"h2"}, Port: 8443,
			IPv6Hint: []netip.Addr{netip.MustParseAddr("2001:db8::1")},
			IPv4Hint: []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
		{Priority: 2, Target: "h3.example.", ALPN: []string{"h3"}, NoDefaultALPN: true},
	})
	show := func() {
		for _, e := range a.Endpoints() {
			fmt.Println(e.Group, e.AddrPort(), "hint:", e.Hint)
		}
	}
	fmt.Println("ready:", a.Ready(true))
	show()
	a.SetAddrs("www.example", true, false, []netip.Addr{netip.MustParseAddr("2001:db8::2")})
	show()
	// Output:
	// ready: true
	// 0 [2001:db8::1]:8443 hint: true
	// 0 192.0.2.1:8443 hint: true
	// 0 [2001:db8::2]:8443 hint: false
	// 0 192.0.2.1:8443 hint: true
	// 1 [2001:db8::2]:443 hint: false
}
