package pairs_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// exampleHost is a host with two uplinks: eth0 (ISP A) and eth1 (ISP B), each with
// an IPv6 and an IPv4 address, and policy routing by source.
func exampleHost() *netstate.Snapshot {
	a := func(p string, index int, name string) netstate.Addr {
		pfx := netip.MustParsePrefix(p)
		return netstate.Addr{IP: pfx.Addr(), Bits: pfx.Bits(), Index: index, Interface: name}
	}
	r := func(dst string, index int, table uint32) netstate.Route {
		return netstate.Route{Dst: netip.MustParsePrefix(dst), Index: index, Table: table}
	}
	from := func(p string, table uint32) netstate.Rule {
		pfx := netip.MustParsePrefix(p)
		return netstate.Rule{Is6: pfx.Addr().Is6(), Priority: 100, Src: pfx, Table: table}
	}
	return &netstate.Snapshot{
		Generation: 1,
		Links: []netstate.Link{
			{Index: 2, Name: "eth0", Up: true, Running: true},
			{Index: 3, Name: "eth1", Up: true, Running: true},
		},
		Addrs: []netstate.Addr{
			a("2001:db8:a::10/64", 2, "eth0"), a("192.0.2.10/24", 2, "eth0"),
			a("2001:db8:b::10/64", 3, "eth1"), a("203.0.113.10/24", 3, "eth1"),
		},
		Routes: []netstate.Route{
			r("::/0", 2, 0), r("0.0.0.0/0", 2, 0),
			r("::/0", 3, 200), r("0.0.0.0/0", 3, 200),
		},
		Rules: []netstate.Rule{
			from("2001:db8:b::/64", 200), from("203.0.113.0/24", 200),
			{Is6: true, Priority: 32766}, {Priority: 32766},
		},
	}
}

// A Selector over a fixed view of the host, without probing: the first ranking
// comes from the address classes, the kernel's own choice of source (here the
// Static watcher's model of it) and RFC 6724.
func ExampleSelector_Get() {
	w := netstate.NewStatic(exampleHost())
	defer w.Close()
	s, err := pairs.New(pairs.WithWatcher(w), pairs.WithoutProbing())
	if err != nil {
		panic(err)
	}
	defer s.Close()

	ps, err := s.Get(context.Background(), "2001:db8:99::7", 443)
	if err != nil {
		panic(err)
	}
	for _, p := range ps {
		fmt.Println(p.Src.Addr(), "->", p.Dst, p.Interface, "|", p.Reason)
	}
	// Output:
	// 2001:db8:a::10 -> [2001:db8:99::7]:443 eth0 | default ipv6 gua 200ms; kernel's choice
	// 2001:db8:b::10 -> [2001:db8:99::7]:443 eth1 | default ipv6 gua 200ms; after the kernel's choice
}

// Outcomes reported by a dialer (or the prober) turn into measured latencies: the
// faster uplink goes first, and Attempts interleaves the families for racing.
func ExampleSelector_Attempts() {
	w := netstate.NewStatic(exampleHost())
	defer w.Close()
	s, err := pairs.New(pairs.WithWatcher(w), pairs.WithoutProbing())
	if err != nil {
		panic(err)
	}
	defer s.Close()

	report := func(src, dst string, rtt time.Duration) {
		s.Report(probe.Outcome{
			Path:     probe.Path{Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst)},
			Result:   probe.Success,
			Start:    time.Now(),
			Duration: rtt,
		})
	}
	report("[2001:db8:a::10]:0", "[2001:db8:99::7]:443", 90*time.Millisecond)
	report("[2001:db8:b::10]:0", "[2001:db8:99::8]:443", 25*time.Millisecond) // a neighbour
	report("192.0.2.10:0", "198.51.100.7:443", 40*time.Millisecond)

	for _, host := range []string{"2001:db8:99::7", "198.51.100.7"} {
		ps, err := s.Attempts(context.Background(), pairs.Query{Network: "tcp", Host: host, Port: 443})
		if err != nil {
			panic(err)
		}
		for _, p := range ps {
			fmt.Println(p.Src.Addr(), "->", p.Dst.Addr(), "|", p.Reason)
		}
	}
	// Output:
	// 2001:db8:b::10 -> 2001:db8:99::7 | inherited 2001:db8::/32 25ms
	// 2001:db8:a::10 -> 2001:db8:99::7 | measured 90ms
	// 192.0.2.10 -> 198.51.100.7 | measured 40ms
	// 203.0.113.10 -> 198.51.100.7 | default ipv4 205ms
}

// Order puts ranked pairs in racing order: after the best pair, the families
// alternate; an attempt leaves by another interface than the attempt before when
// its family has a pair there, else from another source than its family's
// previous attempt when it can.
func ExampleOrder() {
	pair := func(src, dst, iface string) pairs.Pair {
		return pairs.Pair{Src: netip.MustParseAddrPort(src), Dst: netip.MustParseAddrPort(dst), Interface: iface}
	}
	ranked := []pairs.Pair{
		pair("[2001:db8:a::10]:0", "[2001:db8:99::7]:443", "eth0"),
		pair("[2001:db8:a::10]:0", "[2001:db8:99::8]:443", "eth0"),
		pair("[2001:db8:b::10]:0", "[2001:db8:99::7]:443", "eth1"),
		pair("192.0.2.10:0", "198.51.100.7:443", "eth0"),
		pair("203.0.113.10:0", "198.51.100.7:443", "eth1"),
	}
	for _, p := range pairs.Order(ranked, 1) {
		fmt.Println(p.Interface, p.Src.Addr(), "->", p.Dst)
	}
	// Output:
	// eth0 2001:db8:a::10 -> [2001:db8:99::7]:443
	// eth1 203.0.113.10 -> 198.51.100.7:443
	// eth0 2001:db8:a::10 -> [2001:db8:99::8]:443
	// eth0 192.0.2.10 -> 198.51.100.7:443
	// eth1 2001:db8:b::10 -> [2001:db8:99::7]:443
}

// The policy table of RFC 6724 gives each address a precedence and a label.
func ExamplePolicyTable_Lookup() {
	t := pairs.DefaultPolicyTable()
	for _, a := range []string{"2001:db8::1", "fd00::1", "192.0.2.1", "2002:c633:6401::1"} {
		e := t.Lookup(netip.MustParseAddr(a))
		fmt.Printf("%-18s precedence %2d label %2d\n", a, e.Precedence, e.Label)
	}
	// Output:
	// 2001:db8::1        precedence 40 label  1
	// fd00::1            precedence  3 label 13
	// 192.0.2.1          precedence 35 label  4
	// 2002:c633:6401::1  precedence 30 label  2
}

// A dialer's loop over a Stream: pairs in racing order, and more of them as
// late DNS answers (AAAA after A, HTTPS records and their targets) arrive.
// (Not run: it resolves a name.)
func ExampleSelector_Stream() {
	sel, err := pairs.New()
	if err != nil {
		panic(err)
	}
	defer sel.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := sel.Stream(ctx, pairs.Query{Host: "example.com", Port: 443, TLS: true, HTTPS: true})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	for {
		changed := st.Changed() // before Next and Done: a change after them closes it
		p, ok := st.Next()
		if ok {
			fmt.Println("attempt", p.Src, "->", p.Dst) // a real dialer starts it, and waits its attempt delay
			continue
		}
		if st.Done() {
			return
		}
		select {
		case <-changed: // answers arrived: the next pairs are in place
		case <-ctx.Done():
			return
		}
	}
}

// A Selector holds goroutines only while it runs: Suspend stops them (a Selector
// made WithIdleStop does so by itself when unused), keeping what it learned, and
// the next call starts them again. StopDefault does the same for the default
// Selector, before a test checks for leaked goroutines.
func ExampleSelector_Suspend() {
	w := netstate.NewStatic(exampleHost())
	defer w.Close()
	noNetwork := func(context.Context, probe.Path) (net.Conn, error) { return nil, errors.New("no network in examples") }
	s, err := pairs.New(pairs.WithWatcher(w), pairs.WithProbeDial(noNetwork), pairs.WithIdleStop(3*time.Minute))
	if err != nil {
		panic(err)
	}
	defer s.Close()
	s.Report(probe.Outcome{
		Path:   probe.Path{Src: netip.MustParseAddrPort("[2001:db8:b::10]:0"), Dst: netip.MustParseAddrPort("[2001:db8:99::7]:443")},
		Result: probe.Success, Start: time.Now(), Duration: 30 * time.Millisecond,
	})
	s.Suspend()
	ps, err := s.Get(context.Background(), "2001:db8:99::7", 443) // runs again
	if err != nil {
		panic(err)
	}
	fmt.Println(ps[0].Src.Addr(), ps[0].Basis, ps[0].Latency)
	pairs.StopDefault() // the default Selector was never started: nothing to do
	// Output:
	// 2001:db8:b::10 measured 30ms
}
