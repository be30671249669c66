package netstate_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/getapr/getapr/netstate"
)

func ExampleClassify() {
	for _, s := range []string{
		"127.0.0.1", "fe80::1%eth0", "fd00::1", "2001:db8::1",
		"169.254.1.1", "192.168.1.10", "100.64.0.1", "198.51.100.7",
		"::ffff:192.0.2.1", "ff02::1",
	} {
		fmt.Printf("%-16s %v\n", s, netstate.Classify(netip.MustParseAddr(s)))
	}
	// Output:
	// 127.0.0.1        loopback
	// fe80::1%eth0     link-local6
	// fd00::1          ula
	// 2001:db8::1      gua
	// 169.254.1.1      link-local4
	// 192.168.1.10     rfc1918
	// 100.64.0.1       shared4
	// 198.51.100.7     global4
	// ::ffff:192.0.2.1 not-a-source
	// ff02::1          not-a-source
}

func ExampleNewStatic() {
	st := netstate.NewStatic(&netstate.Snapshot{
		Links: []netstate.Link{{Index: 2, Name: "eth0", Up: true, Running: true}},
		Addrs: []netstate.Addr{{IP: netip.MustParseAddr("192.0.2.10"), Bits: 24, Index: 2, Interface: "eth0"}},
		Routes: []netstate.Route{
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: netip.MustParseAddr("192.0.2.1"), Index: 2},
			{Dst: netip.MustParsePrefix("203.0.113.0/24"), Type: netstate.Unreachable},
		},
	})
	defer st.Close()

	unsubscribe := st.Subscribe(func(s *netstate.Snapshot) {
		fmt.Println("generation", s.Generation, "sources", len(s.Sources()))
	})
	defer unsubscribe()

	src := netip.MustParseAddr("192.0.2.10")
	d, err := st.RouteFor(context.Background(), src, netip.MustParseAddr("198.51.100.1"))
	fmt.Println(d.Interface, d.Gateway, err)
	_, err = st.RouteFor(context.Background(), src, netip.MustParseAddr("203.0.113.9"))
	fmt.Println(err)

	st.Set(&netstate.Snapshot{}) // the address went away
	// Output:
	// eth0 192.0.2.1 <nil>
	// route from 192.0.2.10 to 203.0.113.9: unreachable
	// generation 1 sources 0
}

// A Monitor of this host: its sources, its changes, and a route lookup. (Not
// run as a test: what it prints is this host's.)
func ExampleNew() {
	m, err := netstate.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()

	for _, a := range m.Snapshot().Sources() {
		fmt.Println(a.Interface, a.IP, a.Class())
	}
	unsubscribe := m.Subscribe(func(s *netstate.Snapshot) {
		fmt.Println("host changed, generation", s.Generation)
	})
	defer unsubscribe()

	// Which interface would a packet from this source to this destination use?
	d, err := m.RouteFor(context.Background(), netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("198.51.100.1"))
	var re *netstate.RouteError
	switch {
	case errors.As(err, &re):
		fmt.Println("the kernel would not send it:", re.Kind)
	case err == nil:
		fmt.Println("leaves by", d.Interface, "via", d.Gateway)
	}
}

// A Monitor that replaces a closed one (a program that stops watching while
// idle) carries on: newer generations, and the NAT64 prefixes the old one had
// from Router Advertisements, which it could otherwise learn only from the next
// RA. (Not run as a test: what it prints is this host's.)
func ExampleWithPREF64s() {
	old, err := netstate.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	last := old.Snapshot()
	old.Close()

	m, err := netstate.New(netstate.WithFirstGeneration(last.Generation+1), netstate.WithPREF64s(last.PREF64s))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	for _, p := range m.Snapshot().PREF64s {
		fmt.Println("link", p.Index, "NAT64 prefix", p.Prefix, "until", p.Expires)
	}
}

// What a change means, from two snapshots: the carrier came back on eth0 and its
// router, FAILED in the kernel's neighbour cache, answers again.
func ExampleChanges() {
	router := netip.MustParseAddr("fe80::1%eth0")
	host := func(running bool, st netstate.NeighState) *netstate.Snapshot {
		return &netstate.Snapshot{
			Links: []netstate.Link{{Index: 2, Name: "eth0", Up: true, Running: running}},
			Addrs: []netstate.Addr{{IP: netip.MustParseAddr("2001:db8:a::10"), Bits: 64, Index: 2, Interface: "eth0"}},
			Routes: []netstate.Route{
				{Dst: netip.MustParsePrefix("::/0"), Gateway: router, Index: 2},
			},
			Neighbors: []netstate.Neighbor{{Index: 2, IP: router, HWAddr: "02:00:00:00:00:01", State: st}},
		}
	}
	cut, healed, back := host(false, netstate.NeighFailed), host(true, netstate.NeighFailed), host(true, netstate.NeighReachable)
	a := cut.Addrs[0]
	fmt.Println("cut: kernel down", cut.KernelDown(a))
	fmt.Println("carrier back: revived", netstate.Changes(cut, healed).Revived(), "router", healed.RouterState(2, true))
	fmt.Println("router back: revived", netstate.Changes(healed, back).Revived(), "router", back.RouterState(2, true))
	fmt.Println("network", back.NetworkOf(a).Router, back.NetworkOf(a).Prefix, back.NetworkOf(a).Same(cut.NetworkOf(a)))
	// Output:
	// cut: kernel down true
	// carrier back: revived [2] router failed
	// router back: revived [2] router reachable
	// network fe80::1 2001:db8:a::/64 true
}
