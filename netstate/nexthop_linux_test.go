package netstate

import (
	"fmt"
	"net/netip"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/getapr/getapr/internal/isolate"
)

// nexthopRouteKinds are ip commands, run after kernelRouteKinds, that make
// routes use nexthop objects of every kind: single next hops with a gateway
// or a device only, of the route's family or the other, groups with weights
// or of one member, resilient groups, blackholes, in policy tables, and
// default routes of both families that win over the plain ones, so the
// default gateways come from objects: 192.0.2.1 (group 12, replacing
// routeChangeHost's) and fe80::2 on v1 (object 18). (The kernel refuses a
// nexthop object to a source-specific IPv6 route.)
var nexthopRouteKinds = []string{
	"nexthop add id 11 dev v1",
	"nexthop add id 12 group 7",
	"nexthop add id 13 group 7,3/8,5",
	"nexthop add id 14 group 7/8 type resilient buckets 8",
	"-6 nexthop add id 15 blackhole",
	"-6 nexthop add id 16 dev v0",
	"nexthop add id 20 group 10",
	"route add 10.20.0.0/16 nhid 11",
	"route add 10.21.0.0/16 nhid 12",
	"route add 10.22.0.0/16 nhid 13",
	"route add 10.23.0.0/16 nhid 14",
	"route add 10.24.0.0/16 nhid 17",
	"route add 10.25.0.0/16 nhid 20",
	"route add 10.26.0.0/16 nhid 8 table 101",
	"route add 10.27.0.0/16 nhid 7 src 192.0.2.10 metric 9",
	"route replace default nhid 12",
	"route add default nhid 9 metric 50",
	"-6 route add 2001:db8:20::/48 nhid 15",
	"-6 route add 2001:db8:21::/48 nhid 16",
	"-6 route add 2001:db8:23::/48 nhid 19 table 101",
	"-6 route add default nhid 18 metric 10 pref high",
	"-6 route add default nhid 19 metric 20",
}

// TestNexthopCompatModesLive checks, in a namespace of its own (root only),
// that routes using nexthop objects read the same whether the kernel shows
// their next hops (net.ipv4.nexthop_compat_mode=1) or only the object's id (0,
// as FRR's zebra sets it): the same snapshot, default gateways included.
func TestNexthopCompatModesLive(t *testing.T) {
	isolate.Run(t, "^TestNexthopCompatModesLiveChild$", isolate.Options{NewNetNS: true, Commands: routeChangeHost})
}

func TestNexthopCompatModesLiveChild(t *testing.T) {
	if o := isolate.Current(); !o.NewNetNS || o.NoNetlink {
		t.Skip("only in the child of TestNexthopCompatModesLive")
	}
	runKinds(t, append(append([]string(nil), kernelRouteKinds...), nexthopRouteKinds...))
	c, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	taken := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	snap := map[string]*Snapshot{}
	for _, compat := range []string{"1", "0"} {
		if out, err := exec.Command("sysctl", "-qw", "net.ipv4.nexthop_compat_mode="+compat).CombinedOutput(); err != nil {
			t.Skipf("sysctl: %v: %s", err, out)
		}
		msgs, _, err := dumpAll(c, new(refusedDumps))
		if err != nil {
			t.Fatal(err)
		}
		s, _, err := buildSnapshot(msgs, taken)
		if err != nil {
			t.Errorf("compat mode %s: %v", compat, err)
		}
		snap[compat] = s
	}
	got, want := snap["0"], snap["1"]
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the snapshot with nexthop_compat_mode=0 is not the one with 1")
		diffRoutes(t, got.Routes, want.Routes)
		if got.Gateway4 != want.Gateway4 || got.Gateway6 != want.Gateway6 {
			t.Errorf("  gateways %v %v, want %v %v", got.Gateway4, got.Gateway6, want.Gateway4, want.Gateway6)
		}
		if !reflect.DeepEqual(got.Neighbors, want.Neighbors) {
			t.Errorf("  neighbours %+v, want %+v", got.Neighbors, want.Neighbors)
		}
	}
	if w4, w6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("fe80::2%v1"); want.Gateway4 != w4 || want.Gateway6 != w6 {
		t.Errorf("with nexthop_compat_mode=1: gateways %v %v, want %v %v (of the objects)", want.Gateway4, want.Gateway6, w4, w6)
	}
	t.Logf("%d routes; gateways %v %v", len(want.Routes), want.Gateway4, want.Gateway6)
}

// nexthopEventSteps are ip commands after each of which, with
// nexthop_compat_mode=0, a Monitor's snapshot must be the kernel's dump: the
// route events show the routes' nexthop ids alone, and an object replaced
// (back to what it was, too) changes its routes without any.
var nexthopEventSteps = []string{
	"nexthop add id 7 via 192.0.2.1 dev v0",
	"nexthop add id 8 via 198.51.100.1 dev v1",
	"nexthop add id 9 group 7/8",
	"-6 nexthop add id 17 via fe80::1 dev v0",
	"route add 10.8.0.0/16 nhid 7",
	"route add 10.9.0.0/16 nhid 9",
	"route replace 10.8.0.0/16 nhid 8",
	"route replace 10.8.0.0/16 nhid 9",
	"route add 10.10.0.0/16 nhid 7 table 101",
	"-6 route add 2001:db8:8::/48 nhid 17",
	"route del 10.8.0.0/16",
	"-6 route del 2001:db8:8::/48",
	"route replace default nhid 8",
	"route add 10.99.0.0/16 via 192.0.2.1",
	// No route event tells of these: only the objects' own.
	"nexthop replace id 7 via 192.0.2.2 dev v0",
	"nexthop replace id 7 via 192.0.2.1 dev v0",
	"nexthop replace id 9 group 7",
	"nexthop replace id 9 group 7/8",
}

// TestRouteEventsNexthopCompatOffLive checks, in a namespace of its own with
// nexthop_compat_mode=0 (root only), that a Monitor follows routes that use
// nexthop objects: added, replaced by another object, deleted.
func TestRouteEventsNexthopCompatOffLive(t *testing.T) {
	host := append(slices.Clone(routeChangeHost), []string{"sysctl", "-qw", "net.ipv4.nexthop_compat_mode=0"})
	isolate.Run(t, "^TestRouteEventsNexthopCompatOffLiveChild$", isolate.Options{NewNetNS: true, Commands: host})
}

func TestRouteEventsNexthopCompatOffLiveChild(t *testing.T) {
	if o := isolate.Current(); !o.NewNetNS || o.NoNetlink {
		t.Skip("only in the child of TestRouteEventsNexthopCompatOffLive")
	}
	followKernel(t, nexthopEventSteps)
}

// runKinds runs the ip commands cmds; one the kernel refuses (an option it
// was built without) is skipped, unless most are.
func runKinds(t *testing.T, cmds []string) {
	t.Helper()
	var refused []string
	for _, c := range cmds {
		if out, err := exec.Command("ip", strings.Fields(c)...).CombinedOutput(); err != nil {
			refused = append(refused, fmt.Sprintf("ip %s: %v: %s", c, err, strings.TrimSpace(string(out))))
		}
	}
	if len(refused) > len(cmds)/4 {
		t.Fatalf("the kernel refused most route kinds:\n%s", strings.Join(refused, "\n"))
	}
	for _, r := range refused {
		t.Log("skipped:", r)
	}
}

// TestDumpWithoutNexthopSupport: a kernel before 5.3 (or a sandbox) refuses
// the nexthop objects' dump (EOPNOTSUPP, EINVAL): the snapshot is the one it
// was before they were dumped, they are asked for once only, and the refusal
// is no warning (such a kernel has no nexthop objects to lose).
func TestDumpWithoutNexthopSupport(t *testing.T) {
	for _, errno := range []unix.Errno{unix.EOPNOTSUPP, unix.EINVAL} {
		t.Run(errno.Error(), func(t *testing.T) {
			sn := &sandboxNetlink{refuse: map[netlink.HeaderType]unix.Errno{unix.RTM_GETNEXTHOP: errno}}
			b := sandboxBackend(t, sn, 0)
			core, logs := observer.New(zapcore.DebugLevel)
			b.log = zap.New(core)
			defer b.close()
			for range 2 {
				s, _, err := b.dump()
				if err != nil {
					t.Fatal(err)
				}
				want, err := parseDump(readMultihomed(t), s.Taken)
				if err != nil {
					t.Fatal(err)
				}
				if !sameHost(s, want) {
					t.Errorf("the snapshot is not the recorded host's")
					diffRoutes(t, s.Routes, want.Routes)
				}
			}
			if n := sn.times(unix.RTM_GETNEXTHOP); n != 1 {
				t.Errorf("nexthop objects asked for %d times, want 1", n)
			}
			if w := logs.FilterLevelExact(zapcore.WarnLevel).Len(); w != 0 {
				t.Errorf("%d warnings: %v", w, logs.All())
			}
			if logs.FilterMessageSnippet("nexthop objects").Len() != 1 {
				t.Errorf("the refusal is not logged once at debug level: %v", logs.All())
			}
		})
	}
}
