package netstate

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/getapr/getapr/internal/isolate"
)

// fallbackHost sets up the child's own namespace: v0 with three IPv4 addresses
// (one with a label of its own, one of another prefix length under the
// interface's), a global, a link-local IPv6 address and an IPv4 default
// route; a policy rule that makes the second IPv4 address unreachable; v1
// down, without addresses. Their veth peers stay in the namespace: nothing
// leaves it.
var fallbackHost = [][]string{
	{"ip", "link", "add", "v0", "type", "veth", "peer", "name", "v0p"},
	{"ip", "link", "set", "v0", "addrgenmode", "none"},
	{"ip", "link", "set", "v0p", "addrgenmode", "none"},
	{"ip", "link", "set", "v0", "mtu", "1400", "up"},
	{"ip", "link", "set", "v0p", "up"},
	{"ip", "addr", "add", "192.0.2.10/24", "dev", "v0"},
	{"ip", "addr", "add", "192.0.2.11/24", "dev", "v0", "label", "v0:a"},
	{"ip", "addr", "add", "198.18.0.10/16", "dev", "v0"}, // v0's label too, another prefix length
	{"ip", "addr", "add", "2001:db8:a::10/64", "dev", "v0", "nodad"},
	{"ip", "addr", "add", "fe80::10/64", "dev", "v0", "nodad"},
	{"ip", "route", "add", "default", "via", "192.0.2.1"},
	{"ip", "rule", "add", "from", "192.0.2.11", "lookup", "100"},
	{"ip", "route", "add", "unreachable", "default", "table", "100"},
	{"ip", "link", "add", "v1", "type", "veth", "peer", "name", "v1p"},
}

// TestFallbackMatchesNetlink checks, in a namespace of its own, that the
// fallback reads the same links and addresses as rtnetlink does.
func TestFallbackMatchesNetlink(t *testing.T) {
	isolate.Run(t, "^TestFallbackMatchesNetlinkChild$", isolate.Options{NewNetNS: true, Commands: fallbackHost})
}

func TestFallbackMatchesNetlinkChild(t *testing.T) {
	if o := isolate.Current(); !o.NewNetNS || o.NoNetlink {
		t.Skip("only in the child of TestFallbackMatchesNetlink")
	}
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, ok := m.be.(*linuxBackend); !ok {
		t.Fatalf("backend %T, want rtnetlink's", m.be)
	}
	want := m.Snapshot()
	got, missing := readNoNetlink(systemFiles())
	if len(missing) > 0 {
		t.Errorf("missing: %q", missing)
	}
	sortSnapshot(got)
	if diff := cmp.Diff(want.Links, got.Links); diff != "" {
		t.Errorf("links (-netlink +fallback):\n%s", diff)
	}
	// The fallback zones link-local addresses with the index, not the name.
	for _, a := range got.Addrs {
		if a.IP.IsLinkLocalUnicast() && a.IP.Zone() != strconv.Itoa(a.Index) {
			t.Errorf("fallback address %v: zone is not its index %d", a.IP, a.Index)
		}
	}
	sameIP := cmp.Comparer(func(a, b netip.Addr) bool { return a.WithZone("") == b.WithZone("") })
	if diff := cmp.Diff(want.Addrs, got.Addrs, sameIP); diff != "" {
		t.Errorf("addresses (-netlink +fallback):\n%s", diff)
	}
	// The kernel's answers through rtnetlink, and by connect as on other
	// systems (pollBackend).
	checkRoutes(t, m.RouteFor)
	checkRoutes(t, func(ctx context.Context, src, dst netip.Addr) (Decision, error) {
		return pollBackend{list: stdlibSnapshot}.routeFor(ctx, want, src, dst)
	})
	if len(want.Addrs) != 5 {
		t.Errorf("netlink sees %d addresses, want 5: %+v", len(want.Addrs), want.Addrs)
	}
}

// TestFallback checks, in a namespace of its own with rtnetlink refused, that
// New falls back, says so once, and answers RouteFor as the kernel routes.
func TestFallback(t *testing.T) {
	isolate.Run(t, "^TestFallbackChild$", isolate.Options{NewNetNS: true, NoNetlink: true, Commands: fallbackHost})
}

func TestFallbackChild(t *testing.T) {
	if o := isolate.Current(); !o.NewNetNS || !o.NoNetlink {
		t.Skip("only in the child of TestFallback")
	}
	core, logs := observer.New(zapcore.DebugLevel)
	m, err := New(WithLogger(zap.New(core)))
	if err != nil {
		t.Fatalf("New without rtnetlink: %v", err)
	}
	defer m.Close()
	if _, ok := m.be.(pollBackend); !ok {
		t.Fatalf("backend %T, want the fallback", m.be)
	}
	if n := logs.FilterLevelExact(zapcore.WarnLevel).Len(); n != 1 || logs.Len() != 1 {
		t.Errorf("%d warnings, %d logs; want one warning: %v", n, logs.Len(), logs.All())
	}
	s := m.Snapshot()
	srcs := map[string]bool{}
	for _, a := range s.Sources() {
		srcs[a.IP.WithZone("").String()] = true
	}
	for _, ip := range []string{"192.0.2.10", "192.0.2.11", "2001:db8:a::10", "fe80::10"} {
		if !srcs[ip] {
			t.Errorf("source %s missing from %+v", ip, s.Addrs)
		}
	}
	checkRoutes(t, m.RouteFor)

	// Without /proc and /sys: the IPv4 addresses and their links still, by
	// ioctl alone; the IPv6 addresses are unknown.
	s, missing := readNoNetlink(fallbackFiles{sysClassNet: "/nonexistent", procNetDev: "/nonexistent", ifInet6: "/nonexistent"})
	if len(missing) != 2 {
		t.Errorf("without /proc: missing %q, want the interface list and the IPv6 addresses", missing)
	}
	var v4 []string
	for _, a := range s.Sources() {
		if a.IP.Is6() {
			t.Errorf("without /proc: IPv6 source %v", a.IP)
		}
		v4 = append(v4, a.IP.String()+"/"+strconv.Itoa(a.Bits)+" "+a.Interface)
	}
	slices.Sort(v4)
	if want := []string{"192.0.2.10/24 v0", "192.0.2.11/24 v0", "198.18.0.10/16 v0"}; !slices.Equal(v4, want) {
		t.Errorf("without /proc: sources %q, want %q", v4, want)
	}
}

// routeCase is a RouteFor question on fallbackHost and the kernel's answer.
type routeCase struct {
	src, dst string
	want     routeResult
}

// routeResult is a RouteFor answer: the source and interface, or why not.
type routeResult struct {
	Src   string // without zone
	Iface string
	Kind  RouteErrorKind
	Errno syscall.Errno
}

// fallbackRoutes are the route questions asked on fallbackHost.
var fallbackRoutes = []routeCase{
	{"192.0.2.10", "198.51.100.1", routeResult{Src: "192.0.2.10", Iface: "v0"}},
	{"", "198.51.100.1", routeResult{Src: "192.0.2.10", Iface: "v0"}},
	{"192.0.2.11", "198.51.100.1", routeResult{Kind: UnreachableErr, Errno: syscall.EHOSTUNREACH}},
	{"192.0.2.99", "198.51.100.1", routeResult{Kind: BadSource, Errno: syscall.EADDRNOTAVAIL}},
	{"192.0.2.10", "2001:db8:a::1", routeResult{Kind: BadSource, Errno: syscall.EADDRNOTAVAIL}},
	{"2001:db8:a::10", "2001:db8:a::1", routeResult{Src: "2001:db8:a::10", Iface: "v0"}},
	{"2001:db8:a::10", "2001:db8:ffff::1", routeResult{Kind: NoRoute, Errno: syscall.ENETUNREACH}},
	{"", "2001:db8:a::1", routeResult{Src: "2001:db8:a::10", Iface: "v0"}},
	{"fe80::10%v0", "fe80::1%v0", routeResult{Src: "fe80::10", Iface: "v0"}},
	{"", "fe80::1%v0", routeResult{Src: "fe80::10", Iface: "v0"}},
}

// checkRoutes asks routeFor the questions of fallbackRoutes.
func checkRoutes(t *testing.T, routeFor func(context.Context, netip.Addr, netip.Addr) (Decision, error)) {
	t.Helper()
	for _, tt := range fallbackRoutes {
		var src netip.Addr
		if tt.src != "" {
			src = netip.MustParseAddr(tt.src)
		}
		d, err := routeFor(context.Background(), src, netip.MustParseAddr(tt.dst))
		var got routeResult
		if re := (*RouteError)(nil); errors.As(err, &re) {
			got = routeResult{Kind: re.Kind, Errno: re.Errno}
		} else if err != nil {
			t.Errorf("RouteFor(%s, %s): %v", tt.src, tt.dst, err)
			continue
		} else {
			got = routeResult{Src: d.Src.WithZone("").String(), Iface: d.Interface}
		}
		if got != tt.want {
			t.Errorf("RouteFor(%s, %s) = %+v, %v; want %+v", tt.src, tt.dst, d, err, tt.want)
		}
	}
}

// TestFallbackManyAddresses checks, in a namespace of its own, that the
// fallback reads every IPv4 address when there are more than one SIOCGIFCONF
// call's first room holds.
func TestFallbackManyAddresses(t *testing.T) {
	batch := []string{"link add v0 type veth peer name v0p", "link set v0 up"}
	for i := range ifconfEntries + 100 {
		batch = append(batch, fmt.Sprintf("addr add 10.50.%d.%d/32 dev v0", i/250, i%250+1))
	}
	path := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(path, []byte(strings.Join(batch, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	isolate.Run(t, "^TestFallbackManyAddressesChild$", isolate.Options{NewNetNS: true, Commands: [][]string{{"ip", "-batch", path}}})
}

func TestFallbackManyAddressesChild(t *testing.T) {
	if o := isolate.Current(); !o.NewNetNS || o.NoNetlink {
		t.Skip("only in the child of TestFallbackManyAddresses")
	}
	s, missing := readNoNetlink(systemFiles())
	n := 0
	for _, a := range s.Addrs {
		if a.IP.Is4() && a.Interface == "v0" {
			n++
		}
	}
	if want := ifconfEntries + 100; n != want || len(missing) > 0 {
		t.Errorf("the fallback read %d of v0's %d IPv4 addresses (missing %q)", n, want, missing)
	}
}
