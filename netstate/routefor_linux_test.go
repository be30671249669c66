package netstate

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// ipRouteGet is what `ip -j route get` says.
type ipRouteGet struct {
	Type    string `json:"type"`
	Gateway string `json:"gateway"`
	Dev     string `json:"dev"`
	Prefsrc string `json:"prefsrc"`
}

// kernelSays runs `ip route get dst [from src] [oif zone]` in the lab host and
// returns its answer as a Decision or a RouteErrorKind.
func kernelSays(t *testing.T, l *lab, src, dst netip.Addr) (Decision, RouteErrorKind, bool) {
	t.Helper()
	args := []string{"-n", l.host, "-j", "route", "get", dst.WithZone("").String()}
	if hasSrc(src) {
		args = append(args, "from", src.WithZone("").String())
	}
	if z := cmpZone(src, dst); z != "" {
		args = append(args, "oif", z)
	}
	out, err := l.try("ip", args...)
	if err != nil {
		for msg, k := range map[string]RouteErrorKind{
			"Network is unreachable": NoRoute, "No route to host": UnreachableErr,
			"Permission denied": ProhibitedErr, "Invalid argument": BlackholeErr,
		} {
			if strings.Contains(err.Error(), msg) {
				return Decision{}, k, false
			}
		}
		t.Fatalf("ip %v: %v", args, err)
	}
	var r []ipRouteGet
	if err := json.Unmarshal([]byte(out), &r); err != nil || len(r) != 1 {
		t.Fatalf("ip %v: %q: %v", args, out, err)
	}
	d := Decision{Interface: r[0].Dev, Src: src}
	if r[0].Gateway != "" {
		d.Gateway = netip.MustParseAddr(r[0].Gateway)
	}
	if !hasSrc(src) && r[0].Prefsrc != "" {
		d.Src = netip.MustParseAddr(r[0].Prefsrc)
	}
	for _, ip := range []*netip.Addr{&d.Gateway, &d.Src} {
		if ip.Is6() && ip.IsLinkLocalUnicast() && ip.Zone() == "" {
			*ip = ip.WithZone(d.Interface)
		}
	}
	return d, 0, true
}

func cmpZone(src, dst netip.Addr) string {
	if dst.Zone() != "" {
		return dst.Zone()
	}
	if dst.IsLinkLocalUnicast() {
		return src.Zone()
	}
	return ""
}

// TestRouteForAgreesWithIP asks the kernel through RouteFor and through `ip route
// get` for a table of pairs on the multihomed lab host, and checks they agree;
// Static's model of the kernel (Snapshot.Lookup) is checked against the same answers.
func TestRouteForAgreesWithIP(t *testing.T) {
	l := newLab(t)
	l.multihomed()
	m, _ := watch(t, l)
	snap := m.Snapshot()
	var temporary string
	for _, a := range snap.Addrs {
		if a.Has(Temporary) {
			temporary = a.IP.String()
		}
	}
	tests := []struct {
		name, src, dst string
		noModel        bool // the kernel chooses by hash or RFC 6724: Lookup does not model it
	}{
		{name: "main default", src: "192.0.2.10", dst: "8.8.8.8"},
		{name: "policy-routed source", src: "198.51.100.10", dst: "8.8.8.8"},
		{name: "kernel picks the source", dst: "8.8.8.8"},
		{name: "unreachable route", src: "192.0.2.10", dst: "203.0.113.1"},
		{name: "prohibit route", src: "192.0.2.10", dst: "203.0.113.130"},
		{name: "blackhole route", src: "192.0.2.10", dst: "203.0.113.200"},
		{name: "main reject route beats policy table", src: "198.51.100.10", dst: "203.0.113.1"},
		{name: "prohibit rule", src: "192.0.2.10", dst: "10.66.1.1"},
		{name: "suppress rule keeps on-link in main", src: "198.51.100.10", dst: "192.0.2.77"},
		{name: "multipath", src: "192.0.2.10", dst: "198.18.0.1", noModel: true},
		{name: "source on a down link", src: "10.9.9.9", dst: "8.8.8.8"},
		{name: "IPv6 main default", src: "2001:db8:a::10", dst: "2001:db8:ffff::1"},
		{name: "IPv6 policy-routed source", src: "2001:db8:b::10", dst: "2001:db8:ffff::1"},
		{name: "IPv6 kernel picks the source", dst: "2001:db8:ffff::1", noModel: true}, // the temporary one
		{name: "IPv6 deprecated source", src: "2001:db8:a::20", dst: "2001:db8:ffff::1"},
		{name: "IPv6 temporary source", src: temporary, dst: "2001:db8:ffff::1"},
		{name: "IPv6 unreachable route", src: "2001:db8:a::10", dst: "2001:db8:dead::1"},
		{name: "IPv6 prohibit route", src: "2001:db8:a::10", dst: "2001:db8:beef::1"},
		{name: "IPv6 blackhole route", src: "2001:db8:a::10", dst: "2001:db8:bbbb::1"},
		{name: "link-local with zone", src: "fe80::11%v1", dst: "fe80::2%v1"},
		{name: "link-local zone from source", src: "fe80::10%v0", dst: "fe80::1"},
		{name: "link-local, kernel picks the source", dst: "fe80::1%v0"},
		{name: "IPv6 to on-link GUA", src: "2001:db8:b::10", dst: "2001:db8:b::1"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var src netip.Addr
			if tt.src != "" {
				src = netip.MustParseAddr(tt.src)
			}
			dst := netip.MustParseAddr(tt.dst)
			want, wantKind, ok := kernelSays(t, l, src, dst)
			check := func(who string, got Decision, err error) {
				t.Helper()
				if ok {
					got.Index = 0 // ip names the interface; compare names
					if err != nil || got != want {
						t.Errorf("%s(%v, %v) = %+v, %v; ip route get says %+v", who, src, dst, got, err, want)
					}
					return
				}
				var re *RouteError
				if !errors.As(err, &re) || re.Kind != wantKind {
					t.Errorf("%s(%v, %v) = %+v, %v; ip route get says %v", who, src, dst, got, err, wantKind)
				}
			}
			got, err := m.RouteFor(ctx, src, dst)
			if err == nil {
				if lk, _ := snap.Link(got.Index); lk.Name != got.Interface {
					t.Errorf("Index %d is %q, Interface %q", got.Index, lk.Name, got.Interface)
				}
			}
			check("RouteFor", got, err)
			if !tt.noModel {
				got, err := snap.Lookup(src, dst)
				check("Lookup", got, err)
			}
		})
	}
}

// TestRouteForBadSource checks the sources the kernel would look up but a socket
// could not bind: all are BadSource, from RouteFor and from the model alike.
func TestRouteForBadSource(t *testing.T) {
	l := newLab(t)
	l.multihomed()
	m, _ := watch(t, l)
	tests := []struct{ name, src, dst string }{
		{"unknown IPv4 source", "192.0.2.99", "8.8.8.8"},
		{"unknown IPv6 source", "2001:db8:a::99", "2001:db8:ffff::1"},
		{"tentative source", "2001:db8:b::77", "2001:db8:ffff::1"},
		{"DAD-failed source", "2001:db8:b::99", "2001:db8:ffff::1"},
		{"family mismatch", "192.0.2.10", "2001:db8:ffff::1"},
		{"link-local on the wrong zone", "fe80::11%v0", "fe80::2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst)
			for who, f := range map[string]func() (Decision, error){
				"RouteFor": func() (Decision, error) { return m.RouteFor(context.Background(), src, dst) },
				"Lookup":   func() (Decision, error) { return m.Snapshot().Lookup(src, dst) },
			} {
				d, err := f()
				var re *RouteError
				if !errors.As(err, &re) || re.Kind != BadSource {
					t.Errorf("%s(%v, %v) = %+v, %v; want BadSource", who, src, dst, d, err)
				}
			}
		})
	}
}

// TestRouteForNewSource checks that a source the snapshot does not know yet is
// checked with the kernel rather than refused. The addresses are used right
// after they are added: an IPv6 one is still tentative for a moment (its local
// route comes from the kernel's work queue, later on a loaded machine), which
// RouteFor must wait out rather than call it a bad source.
func TestRouteForNewSource(t *testing.T) {
	l := newLab(t)
	l.in(l.host, "addr", "add", "192.0.2.10/24", "dev", "v0")
	l.in(l.host, "addr", "add", "2001:db8:a::10/64", "dev", "v0", "nodad")
	l.in(l.host, "addr", "add", "fe80::10/64", "dev", "v0", "nodad")
	m, _ := watch(t, l)
	b := m.be.(*linuxBackend)
	stale := &Snapshot{Links: m.Snapshot().Links} // as before the addresses came
	for _, tt := range []struct{ src, dst string }{
		{"192.0.2.10", "192.0.2.1"},
		{"2001:db8:a::10", "2001:db8:a::1"},
		{"fe80::10%v0", "fe80::1%v0"},
	} {
		src, dst := netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst)
		d, err := b.routeFor(context.Background(), stale, src, dst)
		if err != nil || d.Interface != "v0" || d.Src != src {
			t.Errorf("routeFor(%v, %v) with a stale snapshot = %+v, %v", src, dst, d, err)
		}
	}
	_, err := b.routeFor(context.Background(), stale, netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("192.0.2.1"))
	if re := (*RouteError)(nil); !errors.As(err, &re) || re.Kind != BadSource {
		t.Errorf("unknown source with a stale snapshot: %v", err)
	}
}

// TestRouteForNoRoute checks a host without a default route.
func TestRouteForNoRoute(t *testing.T) {
	l := newLab(t)
	l.in(l.host, "addr", "add", "192.0.2.10/24", "dev", "v0")
	l.in(l.host, "addr", "add", "2001:db8:a::10/64", "dev", "v0", "nodad")
	m, _ := watch(t, l)
	for _, tt := range []struct{ src, dst string }{
		{"192.0.2.10", "8.8.8.8"},
		{"2001:db8:a::10", "2001:db8:ffff::1"},
	} {
		src, dst := netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst)
		if _, k, ok := kernelSays(t, l, src, dst); ok || k != NoRoute {
			t.Fatalf("ip route get %v from %v: want network unreachable", dst, src)
		}
		_, err := m.RouteFor(context.Background(), src, dst)
		var re *RouteError
		if !errors.As(err, &re) || re.Kind != NoRoute || re.Errno == 0 {
			t.Errorf("RouteFor(%v, %v) = %v; want NoRoute with the kernel's errno", src, dst, err)
		}
	}
}

// TestRouteForAfterClose checks that a closed Monitor's RouteFor fails with
// net.ErrClosed, and not with a RouteError (its netlink socket's EBADF is no
// verdict on the path): a Selector that ranks on after Close must not drop
// pairs as unroutable.
func TestRouteForAfterClose(t *testing.T) {
	l := newLab(t)
	l.in(l.host, "addr", "add", "192.0.2.10/24", "dev", "v0")
	m, _ := watch(t, l)
	src, dst := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.1")
	if _, err := m.RouteFor(context.Background(), src, dst); err != nil {
		t.Fatalf("RouteFor(%v, %v) before Close: %v", src, dst, err)
	}
	m.Close()
	_, err := m.RouteFor(context.Background(), src, dst)
	if _, isRoute := errors.AsType[*RouteError](err); isRoute || !errors.Is(err, net.ErrClosed) {
		t.Errorf("RouteFor after Close = %v; want net.ErrClosed and no RouteError", err)
	}
}

// TestModelAgreesWithKernelVPNAndSourceRoutes checks Snapshot.Lookup, KernelDown
// and the gateways against the kernel on two set-ups the multihomed host lacks:
// wg-quick's full tunnel (an inverted firewall-mark rule sending all unmarked
// IPv4 traffic to a table of its own, main with suppress_prefixlength 0 before
// it) and source-specific IPv6 default routes (RFC 8678, as OpenWrt installs
// them), one per uplink prefix.
func TestModelAgreesWithKernelVPNAndSourceRoutes(t *testing.T) {
	l := newLab(t)
	h, p := l.host, l.peer
	l.veth("v1", 101)
	for _, c := range [][]string{
		{p, "addr", "add", "192.0.2.1/24", "dev", "v0p"}, {p, "addr", "add", "fe80::1/64", "dev", "v0p"},
		{p, "addr", "add", "198.51.100.1/24", "dev", "v1p"}, {p, "addr", "add", "fe80::2/64", "dev", "v1p"},
		{h, "addr", "add", "192.0.2.10/24", "dev", "v0"}, {h, "addr", "add", "2001:db8:a::10/64", "dev", "v0", "nodad"},
		{h, "addr", "add", "198.51.100.10/24", "dev", "v1"}, {h, "addr", "add", "2001:db8:b::10/64", "dev", "v1", "nodad"},
		{h, "route", "add", "default", "via", "192.0.2.1"},
		// wg-quick, v1 playing wg0.
		{h, "route", "add", "default", "dev", "v1", "table", "51820"},
		{h, "rule", "add", "pref", "32764", "table", "main", "suppress_prefixlength", "0"},
		{h, "rule", "add", "pref", "32765", "not", "fwmark", "0xca6c", "table", "51820"},
	} {
		l.in(c[0], c[1:]...)
	}
	sourceRoutes := true
	for _, c := range [][]string{
		{"-6", "route", "add", "default", "from", "2001:db8:a::/64", "via", "fe80::1", "dev", "v0"},
		{"-6", "route", "add", "default", "from", "2001:db8:b::/64", "via", "fe80::2", "dev", "v1"},
	} {
		if _, err := l.try("ip", append([]string{"-n", h}, c...)...); err != nil {
			t.Logf("no source-specific routes in this kernel (CONFIG_IPV6_SUBTREES): %v", err)
			sourceRoutes = false
			break
		}
	}
	m, _ := watch(t, l)
	snap := m.Snapshot()
	cases := [][2]string{{"192.0.2.10", "8.8.8.8"}, {"198.51.100.10", "8.8.8.8"}, {"", "8.8.8.8"}, {"192.0.2.10", "192.0.2.77"}}
	if sourceRoutes {
		cases = append(cases, [2]string{"2001:db8:a::10", "2001:db8:ffff::1"}, [2]string{"2001:db8:b::10", "2001:db8:ffff::1"},
			// Only source-specific defaults: no route without a source, for
			// RTM_GETROUTE (a socket's connect would pick a source and look
			// again; Lookup models RTM_GETROUTE, as Monitor.RouteFor asks it).
			[2]string{"", "2001:db8:ffff::1"})
	}
	for _, c := range cases {
		var src netip.Addr
		if c[0] != "" {
			src = netip.MustParseAddr(c[0])
		}
		dst := netip.MustParseAddr(c[1])
		want, wantKind, ok := kernelSays(t, l, src, dst)
		got, err := snap.Lookup(src, dst)
		got.Index = 0
		if ok && (err != nil || got != want) || !ok && !isKind(err, wantKind) {
			t.Errorf("Lookup(%v, %v) = %+v, %v; ip route get says %+v (%v)", src, dst, got, err, want, wantKind)
		}
	}
	for _, a := range snap.Addrs {
		if !a.IP.IsLinkLocalUnicast() && snap.KernelDown(a) && (a.IP.Is4() || sourceRoutes) {
			t.Errorf("KernelDown(%v on %s) with a route for it through its link", a.IP, a.Interface)
		}
	}
}

func isKind(err error, k RouteErrorKind) bool {
	var re *RouteError
	return errors.As(err, &re) && re.Kind == k
}
