package probe_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// The dialer reports every attempt; the ranking reads back what was learned.
func ExampleStore() {
	s := probe.NewStore()
	src := netip.MustParseAddrPort("[2001:db8:a::10]:0")
	dst := netip.MustParseAddrPort("[2001:db8:d::1]:443")
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, rtt := range []time.Duration{40 * time.Millisecond, 24 * time.Millisecond} {
		s.Report(probe.Outcome{Path: probe.Path{Src: src, Dst: dst}, Result: probe.Success, Start: start, Duration: rtt})
	}
	ps, _ := s.Pair(src.Addr(), dst.Addr())
	fmt.Println("srtt", ps.SRTT, "rttvar", ps.RTTVar, "samples", ps.Samples)
	near, _ := s.Nearby(src.Addr(), netip.MustParseAddr("2001:db8:e::1"))
	fmt.Println("nearby srtt", near.SRTT)
	fmt.Println("health", s.Health(src.Addr()))
	// Output:
	// srtt 38ms rttvar 19ms samples 2
	// nearby srtt 38ms
	// health alive
}

func ExampleResultOf() {
	fmt.Println(probe.ResultOf(nil), probe.ResultOf(context.DeadlineExceeded))
	// Output: success timeout
}

// A Prober on a host described by hand (netstate.Static), with a Dial that answers
// every connect with a reset at once: the paths work, the services do not.
func ExampleNewProber() {
	w := netstate.NewStatic(&netstate.Snapshot{
		Links: []netstate.Link{{Index: 2, Name: "eth0", Up: true, Running: true}},
		Addrs: []netstate.Addr{
			{IP: netip.MustParseAddr("192.168.1.10"), Bits: 24, Index: 2, Interface: "eth0"},
			{IP: netip.MustParseAddr("fd00::10"), Bits: 64, Index: 2, Interface: "eth0"},
		},
		Gateway4: netip.MustParseAddr("192.168.1.1"),
	})
	s := probe.NewStore()
	p := probe.NewProber(s, w, probe.ProberConfig{
		Candidates: func(dst netip.AddrPort) []probe.Path {
			var out []probe.Path
			for _, a := range w.Snapshot().Sources() {
				if a.IP.Is4() == dst.Addr().Is4() {
					out = append(out, probe.Path{Src: netip.AddrPortFrom(a.IP, 0), Dst: dst})
				}
			}
			return out
		},
		Targets: []netip.AddrPort{netip.MustParseAddrPort("198.51.100.7:443")},
		Dial: func(ctx context.Context, p probe.Path) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		},
	})
	defer p.Close()
	if err := p.WaitRound(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	st := s.Status()
	fmt.Println("targets", p.Targets())
	fmt.Println("IPv4_ok", st.IPv4OK, "NAT44", st.NAT44, "NAT44_tried", st.NAT44Tried, "RFC1918", st.RFC1918, "ULA_present", st.ULAPresent)
	fmt.Println("connects", p.Stats().Connects)
	// Output:
	// targets [192.168.1.1:80 198.51.100.7:443]
	// IPv4_ok true NAT44 true NAT44_tried true RFC1918 true ULA_present true
	// connects 2
}

// Memory per network: what was measured on a network is set aside when the host
// leaves it and restored when the host comes back.
func ExampleStore_Observe() {
	home := func(gen uint64, router string) *netstate.Snapshot {
		gw := netip.MustParseAddr(router)
		return &netstate.Snapshot{
			Generation: gen,
			Links:      []netstate.Link{{Index: 2, Name: "eth0", Up: true, Running: true}},
			Addrs:      []netstate.Addr{{IP: netip.MustParseAddr("192.168.1.10"), Bits: 24, Index: 2, Interface: "eth0"}},
			Routes:     []netstate.Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Gateway: gw, Index: 2}},
			Gateway4:   gw,
		}
	}
	s := probe.NewStore()
	src := netip.MustParseAddrPort("192.168.1.10:0")
	dst := netip.MustParseAddrPort("198.51.100.7:443")
	s.Observe(home(1, "192.168.1.1"))
	s.Report(probe.Outcome{Path: probe.Path{Src: src, Dst: dst}, Result: probe.Success, Start: time.Now(), Duration: 20 * time.Millisecond})
	pair := func() string {
		ps, ok := s.Pair(src.Addr(), dst.Addr())
		return fmt.Sprint(ok, " ", ps.SRTT, " NAT44 ", s.Translators().NAT44)
	}
	fmt.Println("home:", pair())
	s.Observe(home(2, "192.168.1.254")) // another network that reuses the range
	fmt.Println("away:", pair(), "networks remembered", s.Networks())
	s.Observe(home(3, "192.168.1.1"))
	fmt.Println("home again:", pair())
	// Output:
	// home: true 20ms NAT44 true
	// away: false 0s NAT44 false networks remembered 1
	// home again: true 20ms NAT44 true
}
