//go:build lab

package pairs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/lab"
	"github.com/getapr/getapr/probe"
)

// Lab tests run inside the client namespace of the project's lab (see
// internal/lab): every connection they make stays inside the lab.
func TestMain(m *testing.M) { os.Exit(lab.Main(m, lab.Options{})) }

// labSelector returns a probing Selector over the real host (the lab's client),
// resolving through the lab's DNS and probing the lab server.
func labSelector(t *testing.T, l *lab.Lab) *Selector {
	t.Helper()
	srv := l.Server()
	s, err := New(WithResolver(l.Resolver()), WithProbeTargets(
		netip.AddrPortFrom(srv.Open6, srv.Port), netip.AddrPortFrom(srv.Open4, srv.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// eventually calls f until it returns "" or timeout passes, then fails with f's
// last complaint.
func eventually(t *testing.T, timeout time.Duration, f func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msg := f()
		if msg == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// routable checks that the kernel would route every pair.
func routable(t *testing.T, s *Selector, ps []Pair) {
	t.Helper()
	for _, p := range ps {
		if _, err := s.watcher().RouteFor(context.Background(), p.Src.Addr(), p.Dst.Addr()); err != nil {
			t.Errorf("pair %v → %v cannot be routed: %v", p.Src, p.Dst, err)
		}
	}
}

// dialPair connects over p and returns the address the lab server saw.
func dialPair(ctx context.Context, p Pair) (netip.AddrPort, error) {
	d := net.Dialer{LocalAddr: p.LocalAddr("tcp"), Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, p.Network("tcp"), p.Dst.String())
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer c.Close()
	return lab.ReadPeer(c)
}

func pairSet(ps []Pair) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Src.Addr().String()+">"+p.Dst.Addr().String())
	}
	slices.Sort(out)
	return out
}

// TestLabTranslatedPairs checks that Get on the server's name returns every
// usable pair, the translated ones included (ULA via NPTv6, RFC 1918 via NAT44),
// that each works and is seen from the translated address, and that once measured
// the faster uplink comes first.
func TestLabTranslatedPairs(t *testing.T) {
	l := lab.Current(t)
	srv, a, b := l.Server(), l.Uplink(0), l.Uplink(1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := labSelector(t, l)

	ps, err := s.Get(ctx, srv.Name, int(srv.Port))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		a.GUA.String() + ">" + srv.Open6.String(), a.ULA.String() + ">" + srv.Open6.String(),
		b.GUA.String() + ">" + srv.Open6.String(),
		a.IPv4.String() + ">" + srv.Open4.String(), b.IPv4.String() + ">" + srv.Open4.String(),
	}
	slices.Sort(want)
	if got := pairSet(ps); !slices.Equal(got, want) {
		t.Fatalf("pairs = %q, want %q", got, want)
	}
	routable(t, s, ps)
	outside := map[netip.Addr]netip.Addr{
		a.GUA: a.GUA, a.ULA: a.ULAOutside, b.GUA: b.GUA, a.IPv4: a.IPv4Outside, b.IPv4: b.IPv4Outside,
	}
	for _, p := range ps {
		seen, err := dialPair(ctx, p)
		if err != nil {
			t.Errorf("%v → %v: %v", p.Src, p.Dst, err)
		} else if seen.Addr() != outside[p.Src.Addr()] {
			t.Errorf("%v → %v: the server saw %v, want %v", p.Src, p.Dst, seen.Addr(), outside[p.Src.Addr()])
		}
	}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); !st.NPTv6 || !st.NAT44 || !st.GUAOK || !st.IPv4OK || !st.ULAPresent || !st.RFC1918 {
		t.Errorf("Status = %+v; want NPTv6, NAT44, GUA_ok, IPv4_ok, ULA_present, RFC1918", st)
	}
	// Uplink 0 has 20 ms, uplink 1 60 ms: once measured, eth0's pairs lead.
	eventually(t, 20*time.Second, func() string {
		ps, err := s.Get(ctx, srv.Name, int(srv.Port))
		if err != nil {
			return err.Error()
		}
		routable(t, s, ps)
		for _, p := range ps {
			if p.Basis != Measured {
				return "not all measured: " + p.Src.String() + " " + p.Reason
			}
		}
		if ps[0].Interface != a.Interface || ps[len(ps)-1].Interface != b.Interface {
			return "faster uplink not first: " + strings.Join(pairStrings(ps), ", ")
		}
		return ""
	})
}

// TestLabFasterUplinkFirst makes uplink 1 the faster one: a new Selector measures
// it and ranks its pairs of both families first; in racing order its best pair
// leads, and the second attempt (the other family) leaves by the other uplink.
func TestLabFasterUplinkFirst(t *testing.T) {
	l := lab.Current(t)
	srv, a, b := l.Server(), l.Uplink(0), l.Uplink(1)
	if err := l.SetRTT(0, 90*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := l.SetRTT(1, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s := labSelector(t, l)
	if _, err := s.Get(ctx, srv.Name, int(srv.Port)); err != nil {
		t.Fatal(err)
	}
	q := Query{Network: "tcp", Host: srv.Name, Port: srv.Port}
	eventually(t, 20*time.Second, func() string {
		ps, err := s.rankedWith(ctx, q, s.store)
		if err != nil {
			return err.Error()
		}
		if ps[0].Basis != Measured || ps[0].Interface != b.Interface ||
			ps[1].Basis != Measured || ps[1].Interface != b.Interface || ps[1].Is6() == ps[0].Is6() {
			return "ranking does not start with uplink 1's two families: " + strings.Join(pairStrings(ps), ", ")
		}
		ps, err = s.Attempts(ctx, q)
		if err != nil {
			return err.Error()
		}
		if ps[0].Basis != Measured || ps[0].Interface != b.Interface {
			return "first attempt is " + ps[0].Src.String() + " " + ps[0].Reason
		}
		if ps[1].Is6() == ps[0].Is6() || ps[1].Interface != a.Interface {
			return "second attempt is not the other family by uplink 0: " + ps[1].Src.String()
		}
		return ""
	})
}

// TestLabKernelChoiceFirst checks the cold start behind a translator: with
// nothing measured, the first pair is the kernel's own choice of source (uplink
// 0's, the main default route), which works through ISP A's NAT44 or NPTv6, while
// uplink 1's source, ranked ahead before, is blackholed.
func TestLabKernelChoiceFirst(t *testing.T) {
	tests := []struct {
		name  string
		setup func(l *lab.Lab) error
		first func(u lab.Uplink) (src, seen netip.Addr)
	}{
		{
			name: "IPv4 only behind NAT44",
			setup: func(l *lab.Lab) error {
				if err := l.Families(true, false); err != nil {
					return err
				}
				return l.Blackhole(1, true)
			},
			first: func(u lab.Uplink) (netip.Addr, netip.Addr) { return u.IPv4, u.IPv4Outside },
		},
		{
			name: "IPv6 ULA only behind NPTv6",
			setup: func(l *lab.Lab) error {
				if err := l.Families(false, true); err != nil {
					return err
				}
				if err := l.RemoveClientAddr(0, netip.PrefixFrom(l.Uplink(0).GUA, 64)); err != nil {
					return err
				}
				return l.Blackhole(1, true)
			},
			first: func(u lab.Uplink) (netip.Addr, netip.Addr) { return u.ULA, u.ULAOutside },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := lab.Current(t)
			srv := l.Server()
			if err := tt.setup(l); err != nil {
				t.Fatal(err)
			}
			wantSrc, wantSeen := tt.first(l.Uplink(0))
			s, err := New(WithResolver(l.Resolver()), WithoutProbing())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ps, err := s.Attempts(ctx, Query{Network: "tcp", Host: srv.Name, Port: srv.Port})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				t.Logf("%v → %v %s | %s", p.Src, p.Dst, p.Interface, p.Reason)
			}
			if len(ps) < 2 || ps[0].Src.Addr() != wantSrc || ps[0].Basis != Assumed ||
				!strings.Contains(ps[0].Reason, "kernel's choice") {
				t.Fatalf("first attempt %v, want %v, the kernel's choice, before the blackholed uplink 1 source", pairStrings(ps), wantSrc)
			}
			routable(t, s, ps)
			seen, err := dialPair(ctx, ps[0])
			if err != nil || seen.Addr() != wantSeen {
				t.Errorf("dial over the first pair: server saw %v, %v; want %v", seen, err, wantSeen)
			}
		})
	}
}

// TestLabLinkLocal checks that pairs to a link-local destination carry zones: one
// pair per interface without a zone, only that interface's with one.
func TestLabLinkLocal(t *testing.T) {
	l := lab.Current(t)
	a, b := l.Uplink(0), l.Uplink(1)
	s := labSelector(t, l)
	ctx := context.Background()
	ps, err := s.Get(ctx, a.Router6.WithZone("").String(), 80)
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, p := range ps {
		if p.Src.Addr().Zone() == "" || p.Src.Addr().Zone() != p.Dst.Addr().Zone() {
			t.Errorf("link-local pair without matching zones: %v → %v", p.Src, p.Dst)
		}
		zones = append(zones, p.Dst.Addr().Zone())
	}
	slices.Sort(zones)
	if want := []string{a.Interface, b.Interface}; !slices.Equal(zones, want) {
		t.Errorf("zones = %q, want %q", zones, want)
		for _, src := range s.watcher().Snapshot().Sources() {
			if src.IP.IsLinkLocalUnicast() {
				_, err := s.watcher().RouteFor(ctx, src.IP, a.Router6.WithZone(src.Interface))
				t.Logf("RouteFor(%v, %v) error: %v", src.IP, a.Router6.WithZone(src.Interface), err)
			}
		}
	}
	routable(t, s, ps)
	ps, err = s.Get(ctx, a.Router6.String(), 80)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Interface != a.Interface {
		t.Fatalf("Get(%v) = %v", a.Router6, pairStrings(ps))
	}
	// The router refuses port 80: a refused connect proves the pair works.
	if _, err := dialPair(ctx, ps[0]); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %v → %v: %v, want connection refused", ps[0].Src, ps[0].Dst, err)
	}
}

// TestLabNames checks name resolution through the lab's DNS: the Resolution
// Delay on a slow AAAA, a name without AAAA, an unknown name.
func TestLabNames(t *testing.T) {
	l := lab.Current(t)
	srv := l.Server()
	s := labSelector(t, l)
	ctx := context.Background()

	start := time.Now()
	ps, err := s.Get(ctx, srv.SlowAAAAName, int(srv.Port))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if srv.SlowAAAADelay > DefaultResolutionDelay+100*time.Millisecond && took >= srv.SlowAAAADelay {
		t.Errorf("slow AAAA: Get took %v, the AAAA delay is %v", took, srv.SlowAAAADelay)
	}
	for _, p := range ps {
		if p.Is6() && srv.SlowAAAADelay > DefaultResolutionDelay+100*time.Millisecond {
			t.Errorf("slow AAAA: got IPv6 pair %v → %v", p.Src, p.Dst)
		}
	}
	ps, err = s.Get(ctx, srv.NoAAAAName, int(srv.Port))
	if err != nil || len(ps) == 0 || slices.ContainsFunc(ps, Pair.Is6) {
		t.Errorf("no AAAA: %v, %v", pairStrings(ps), err)
	}
	_, err = s.Get(ctx, "nosuch."+strings.TrimPrefix(srv.Name[strings.Index(srv.Name, "."):], "."), 80)
	if dnsErr, ok := errors.AsType[*net.DNSError](err); !ok || !dnsErr.IsNotFound {
		t.Errorf("unknown name: %v", err)
	}
	addrs, err := s.LookupNetIP(ctx, "ip", srv.MultiName)
	if err != nil || len(addrs) != 4 {
		t.Errorf("LookupNetIP(%s) = %v, %v", srv.MultiName, addrs, err)
	}
}

// TestLabHostChanges checks that the ranking follows the host: without policy
// routing the uplink 1 sources leave by eth0 (EgressMismatch); on an IPv6-only
// client an IPv4 destination has no pair and the error says why.
func TestLabHostChanges(t *testing.T) {
	l := lab.Current(t)
	srv, b := l.Server(), l.Uplink(1)
	s := labSelector(t, l)
	ctx := context.Background()

	if err := l.PolicyRouting(false); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() string {
		ps, err := s.Get(ctx, srv.Open6.String(), int(srv.Port))
		if err != nil {
			return err.Error()
		}
		for _, p := range ps {
			if (p.Interface == b.Interface) != p.EgressMismatch {
				return "EgressMismatch wrong for " + p.Src.String()
			}
		}
		return ""
	})
	if err := l.PolicyRouting(true); err != nil {
		t.Fatal(err)
	}
	if err := l.Families(false, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, func() string {
		_, err := s.Get(ctx, srv.Open4.String(), int(srv.Port))
		npe, ok := errors.AsType[*NoPairError](err)
		if !ok || len(npe.Reasons) != 1 || !strings.Contains(npe.Reasons[0], "no IPv4 source") {
			return "IPv6-only: Get(IPv4) error = " + errString(err)
		}
		return ""
	})
	if err := l.Cut(1, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string {
		ps, err := s.Get(ctx, srv.Open6.String(), int(srv.Port))
		if err != nil {
			return err.Error()
		}
		routable(t, s, ps)
		for _, p := range ps {
			if p.Interface == b.Interface && p.Health != probe.Dead {
				return "cut uplink's source still ranked alive: " + p.Src.String() + " " + p.Reason
			}
		}
		return ""
	})
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// TestLabPackageLevel checks the package-level front door on Default, with the
// environment it reads.
func TestLabPackageLevel(t *testing.T) {
	l := lab.Current(t)
	srv := l.Server()
	t.Setenv(EnvProbeTargets, netip.AddrPortFrom(srv.Open6, srv.Port).String()+","+netip.AddrPortFrom(srv.Open4, srv.Port).String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := Init(ctx); err != nil {
		t.Fatal(err)
	}
	if st := Status(); !st.GUAOK || !st.IPv4OK || !st.Gateway4.IsValid() || !st.Gateway6.IsValid() {
		t.Errorf("Status = %+v", st)
	}
	ps, err := Get(ctx, srv.Name, int(srv.Port))
	if err != nil || len(ps) < 5 {
		t.Fatalf("Get = %v, %v", pairStrings(ps), err)
	}
	addrs, err := LookupNetIP(ctx, "ip6", srv.Name)
	if err != nil || !slices.Equal(addrs, []netip.Addr{srv.Open6}) {
		t.Errorf("LookupNetIP(ip6) = %v, %v", addrs, err)
	}
	if a, b := Default(), Default(); a != b {
		t.Error("Default is not one Selector")
	}
}
