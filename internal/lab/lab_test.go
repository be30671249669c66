//go:build lab

package lab_test

import (
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

func TestRTT(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	check := func(t *testing.T, i int, src, dst netip.Addr) {
		want := l.Uplink(i).RTT
		got, wall := handshakeMedian(t, src, netip.AddrPortFrom(dst, s.Port), 9)
		t.Logf("uplink %d %v: set %v, median handshake %v (error %v; as seen by the test: %v)", i, src, want, got, got-want, wall)
		if d := got - want; d < -time.Millisecond || d > 2*time.Millisecond {
			t.Errorf("uplink %d from %v: median handshake %v; want %v within 2 ms", i, src, got, want)
		}
	}
	for i := range 2 {
		u := l.Uplink(i)
		t.Run(u.Interface, func(t *testing.T) {
			check(t, i, u.GUA, s.Open6)
			check(t, i, u.IPv4, s.Open4)
		})
	}
	t.Run("SetRTT", func(t *testing.T) {
		for _, rtt := range []time.Duration{45 * time.Millisecond, 5 * time.Millisecond} {
			must(t, l.SetRTT(0, rtt))
			if got := l.Uplink(0).RTT; got != rtt {
				t.Fatalf("Uplink(0).RTT = %v after SetRTT(0, %v)", got, rtt)
			}
			check(t, 0, l.Uplink(0).GUA, s.Open6)
		}
	})
}

func TestTranslation(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	a, b := l.Uplink(0), l.Uplink(1)
	if b.ULA.IsValid() || b.ULAOutside.IsValid() {
		t.Errorf("uplink 1 has a ULA: %v -> %v", b.ULA, b.ULAOutside)
	}
	for _, tc := range []struct {
		name     string
		src, dst netip.Addr
		want     netip.Addr
	}{
		{"gua-a", a.GUA, s.Open6, a.GUA},
		{"ula-a-nptv6", a.ULA, s.Open6, a.ULAOutside},
		{"rfc1918-a-nat44", a.IPv4, s.Open4, a.IPv4Outside},
		{"gua-b", b.GUA, s.Open6, b.GUA},
		{"ipv4-b-public", b.IPv4, s.Open4, b.IPv4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := peer(t, tc.src, tc.dst, s.Port); got.Addr() != tc.want {
				t.Errorf("server sees %v; want %v", got, tc.want)
			}
		})
	}
	if a.ULAOutside == a.ULA || a.IPv4Outside == a.IPv4 {
		t.Errorf("uplink 0 is not translated: %v %v", a.ULAOutside, a.IPv4Outside)
	}
}

func TestTranslatorsOff(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	a := l.Uplink(0)
	must(t, l.NAT44(false))
	mustHang(t, a.IPv4, netip.AddrPortFrom(s.Open4, s.Port))
	mustConnect(t, a.ULA, s.Open6, s.Port)
	must(t, l.NAT44(true))
	mustConnect(t, a.IPv4, s.Open4, s.Port)

	must(t, l.NPTv6(false))
	mustHang(t, a.ULA, netip.AddrPortFrom(s.Open6, s.Port))
	mustConnect(t, a.IPv4, s.Open4, s.Port)
	must(t, l.NPTv6(true))
	mustConnect(t, a.ULA, s.Open6, s.Port)
}

func TestIngressFilter(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	b := l.Uplink(1)
	// Without policy routing, B's sources leave by A, whose BCP 38 drops them.
	must(t, l.PolicyRouting(false))
	mustHang(t, b.GUA, netip.AddrPortFrom(s.Open6, s.Port))
	mustHang(t, b.IPv4, netip.AddrPortFrom(s.Open4, s.Port))
	// Without A's filter they pass (the answer comes back through B).
	must(t, l.IngressFilter(0, false))
	if got := peer(t, b.GUA, s.Open6, s.Port); got.Addr() != b.GUA {
		t.Errorf("server sees %v; want %v", got, b.GUA)
	}
	mustConnect(t, b.IPv4, s.Open4, s.Port)
	must(t, l.IngressFilter(0, true))
	mustHang(t, b.GUA, netip.AddrPortFrom(s.Open6, s.Port))
	// Policy routing back on: B's sources leave by B.
	must(t, l.PolicyRouting(true))
	mustConnect(t, b.GUA, s.Open6, s.Port)
	mustConnect(t, b.IPv4, s.Open4, s.Port)
}

func TestBlackhole(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	a, b := l.Uplink(0), l.Uplink(1)
	must(t, l.Blackhole(0, true))
	mustHang(t, a.GUA, netip.AddrPortFrom(s.Open6, s.Port))
	mustHang(t, a.IPv4, netip.AddrPortFrom(s.Open4, s.Port))
	mustHang(t, a.GUA, netip.AddrPortFrom(s.Refuse6, s.Port)) // not even an RST comes back
	mustConnect(t, b.GUA, s.Open6, s.Port)
	must(t, l.Blackhole(0, false))
	mustConnect(t, a.GUA, s.Open6, s.Port)
	mustConnect(t, a.IPv4, s.Open4, s.Port)
}

func TestCut(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	a, b := l.Uplink(0), l.Uplink(1)
	must(t, l.Cut(0, true))
	t.Run("unreachable", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			src, dst netip.Addr
		}{{"v6", a.GUA, s.Open6}, {"v4", a.IPv4, s.Open4}} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				el := mustFail(t, tc.src, netip.AddrPortFrom(tc.dst, s.Port), 6*time.Second, syscall.EHOSTUNREACH)
				t.Logf("EHOSTUNREACH after %v", el)
				if el > 4500*time.Millisecond {
					t.Errorf("EHOSTUNREACH after %v; want within about 4 s", el)
				}
			})
		}
		t.Run("other-uplink", func(t *testing.T) {
			t.Parallel()
			mustConnect(t, b.GUA, s.Open6, s.Port)
		})
	})
	must(t, l.Cut(0, false))
	for _, src := range []netip.Addr{a.GUA, a.IPv4} {
		dst := s.Open6
		if src.Is4() {
			dst = s.Open4
		}
		c, el, err := dial(src, netip.AddrPortFrom(dst, s.Port), time.Second)
		if err != nil {
			t.Fatalf("after heal, %v -> %v: %v", src, dst, err)
		}
		c.Close()
		if el > a.RTT+50*time.Millisecond {
			t.Errorf("after heal, %v -> %v took %v", src, dst, el)
		}
	}
}

func TestRefuseAndDrop(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	for i := range 2 {
		u := l.Uplink(i)
		for _, tc := range []struct {
			src, refuse, drop netip.Addr
		}{{u.GUA, s.Refuse6, s.Drop6}, {u.IPv4, s.Refuse4, s.Drop4}} {
			t.Run(tc.refuse.String()+"-from-"+tc.src.String(), func(t *testing.T) {
				el := mustFail(t, tc.src, netip.AddrPortFrom(tc.refuse, s.Port), time.Second, syscall.ECONNREFUSED)
				if el > u.RTT+50*time.Millisecond {
					t.Errorf("RST after %v; want about one RTT (%v)", el, u.RTT)
				}
				mustHang(t, tc.src, netip.AddrPortFrom(tc.drop, s.Port))
			})
		}
	}
}

func TestLinkLocalZones(t *testing.T) {
	l := lab.Current(t)
	for i := range 2 {
		u := l.Uplink(i)
		t.Run(u.Interface, func(t *testing.T) {
			if u.Router6.Zone() != u.Interface {
				t.Fatalf("Router6 = %v; want zone %s", u.Router6, u.Interface)
			}
			// The router has no listener: an RST proves the zoned path works.
			mustFail(t, netip.Addr{}, netip.AddrPortFrom(u.Router6, 80), time.Second, syscall.ECONNREFUSED)
			mustFail(t, netip.Addr{}, netip.AddrPortFrom(u.Router4, 80), time.Second, syscall.ECONNREFUSED)
		})
	}
}
