package netstate

import (
	"net/netip"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/getapr/getapr/internal/isolate"
)

// rt describes a route message for the tests below; its zero value is an
// IPv4 unicast route of the main table, added (RTM_NEWROUTE, no flags).
type rt struct {
	del     bool // RTM_DELROUTE
	replace bool // NLM_F_REPLACE
	dst     string
	prio    uint32
	table   uint32 // 0: main
	tos     uint8
	typ     uint8    // 0: RTN_UNICAST
	oif     uint32   // of a single next hop
	gw      string   // of a single next hop
	hops    []string // "gateway%index": the next hops of a multipath route
	from    string   // source prefix (IPv6)
	pref    *uint8   // RTA_PREF
}

// msg marshals r as the kernel sends it.
func (r rt) msg(t testing.TB) netlink.Message {
	t.Helper()
	dst := netip.MustParsePrefix(r.dst)
	m := rtnetlink.RouteMessage{Family: unix.AF_INET, Table: mainTable, Type: r.typ,
		Protocol: unix.RTPROT_STATIC, DstLength: uint8(dst.Bits()), Tos: r.tos,
		Attributes: rtnetlink.RouteAttributes{Table: r.table, Priority: r.prio, OutIface: r.oif, Pref: r.pref}}
	if m.Type == 0 {
		m.Type = unix.RTN_UNICAST
	}
	if m.Attributes.Table == 0 {
		m.Attributes.Table = mainTable
	}
	if dst.Addr().Is6() {
		m.Family = unix.AF_INET6
	}
	if dst.Bits() > 0 {
		m.Attributes.Dst = dst.Addr().AsSlice()
	}
	if r.gw != "" {
		m.Attributes.Gateway = netip.MustParseAddr(r.gw).AsSlice()
	}
	for _, h := range r.hops {
		ip, zone, _ := strings.Cut(h, "%")
		a := netip.MustParseAddr(ip)
		index, err := strconv.ParseUint(zone, 10, 32)
		if err != nil {
			t.Fatal(err)
		}
		m.Attributes.Multipath = append(m.Attributes.Multipath, rtnetlink.NextHop{
			Hop: rtnetlink.RTNextHop{IfIndex: uint32(index)}, Gateway: a.AsSlice()})
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	out := netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWROUTE}, Data: b}
	if r.from != "" {
		out = withRouteSrc(out, netip.MustParsePrefix(r.from))
	}
	if r.del {
		out.Header.Type = unix.RTM_DELROUTE
	}
	if r.replace {
		out.Header.Flags |= netlink.Replace | netlink.Create
	}
	return out
}

func msgs(t testing.TB, rs ...rt) []netlink.Message {
	var out []netlink.Message
	for _, r := range rs {
		out = append(out, r.msg(t))
	}
	return out
}

// The routes of the tests, on the recorded multihomed host (v0 is index 100
// with 192.0.2.0/24, v1 101 with 198.51.100.0/24).
var (
	routeA    = rt{dst: "10.1.0.0/16", gw: "192.0.2.1", oif: 100}
	routeA2   = rt{dst: "10.1.0.0/16", gw: "192.0.2.2", oif: 100}
	routeA100 = rt{dst: "10.1.0.0/16", gw: "192.0.2.1", oif: 100, prio: 100}
	routeECMP = rt{dst: "10.2.0.0/16", hops: []string{"192.0.2.1%100", "198.51.100.1%101"}}
	route6    = rt{dst: "2001:db8:1::/48", gw: "fe80::1", oif: 100, prio: 1024}
	route6M   = rt{dst: "2001:db8:1::/48", prio: 1024, hops: []string{"fe80::1%100", "fe80::2%101"}}
	route6B   = rt{dst: "2001:db8:1::/48", gw: "fe80::2", oif: 101, prio: 1024}
)

func (r rt) deleted() rt  { r.del = true; return r }
func (r rt) replaced() rt { r.replace = true; return r }
func (r rt) withPref(p uint8) rt {
	r.pref = &p
	return r
}

// newRouteMonitor starts a Monitor over a sandbox rtnetlink that serves the
// recorded host with extra routes and delivers the change events the test
// sends. The Monitor rebuilds only when the test calls rebuild.
func newRouteMonitor(t *testing.T, extra []netlink.Message) (*Monitor, *sandboxNetlink) {
	t.Helper()
	sn := &sandboxNetlink{extra: extra, events: make(chan sandboxBatch)}
	m, err := New(withBackend(sandboxBackend(t, sn, 0)), WithDebounce(time.Hour), WithLogger(nopLogger()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(sn.events) // the reader's Receive fails: Close need not wait for it
		m.Close()
	})
	return m, sn
}

// rebuilder returns a func that rebuilds m's snapshot and returns it, checking
// that the rebuild dumped sn's host if and only if wantDump (what names the
// change, for the error).
func rebuilder(t *testing.T, m *Monitor, sn *sandboxNetlink) func(what string, wantDump bool) *Snapshot {
	return func(what string, wantDump bool) *Snapshot {
		t.Helper()
		n := sn.dumps()
		if err := m.rebuild(); err != nil {
			t.Fatal(err)
		}
		if dumped := sn.dumps() - n; dumped > 0 != wantDump {
			t.Errorf("after %s: %d dumps; want a dump: %v", what, dumped, wantDump)
		}
		return m.Snapshot()
	}
}

// TestRouteChangeReadsNothing: a change of routes alone is applied to the
// snapshot without reading the host again; any other change, and lost events,
// make the rebuild read it all.
func TestRouteChangeReadsNothing(t *testing.T) {
	m, sn := newRouteMonitor(t, nil)
	rebuild := rebuilder(t, m, sn)
	dst := netip.MustParsePrefix(routeA.dst)
	has := hasRoute(dst.String(), anyRoute)

	sn.send(routeA.msg(t))
	if s := rebuild("a route added", false); !has(s) {
		t.Errorf("route %v added: not in the snapshot", dst)
	}
	sn.send(routeA.deleted().msg(t))
	if s := rebuild("a route deleted", false); has(s) {
		t.Errorf("route %v deleted: still in the snapshot", dst)
	}
	down := firstMessage(t, unix.RTM_NEWLINK, all)
	sn.send(downOf(down), routeA.msg(t))
	rebuild("a link event and a route", true)
	sn.fail(unix.ENOBUFS)
	rebuild("events lost", true)
	rebuild("nothing", false)
}

// TestRouteChangeAllocations: applying one route change allocates one copy of
// the routes and little else, however many there are.
func TestRouteChangeAllocations(t *testing.T) {
	const n = 20_000
	var extra []netlink.Message
	for i := range n {
		extra = append(extra, rt{dst: manyRouteDst(i).String(), gw: "192.0.2.2", oif: 100}.msg(t))
	}
	m, sn := newRouteMonitor(t, extra)
	if got := len(m.Snapshot().Routes); got < n {
		t.Fatalf("%d routes, want more than %d", got, n)
	}
	sn.send(routeA.msg(t))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := m.rebuild(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	routes := len(m.Snapshot().Routes) * int(unsafe.Sizeof(Route{}))
	if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(routes+routes/2); got > limit {
		t.Errorf("one route change over %d routes allocated %d bytes; want at most %d (the new routes, %d bytes, and a half)",
			n, got, limit, routes)
	}
}

// routeChangeHost is the namespace of TestRouteChangesLive: two veth links
// with addresses, their peers in the same namespace.
var routeChangeHost = [][]string{
	{"sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"},
	{"ip", "link", "add", "v0", "type", "veth", "peer", "name", "v0p"},
	{"ip", "link", "add", "v1", "type", "veth", "peer", "name", "v1p"},
	{"ip", "link", "set", "v0p", "up"},
	{"ip", "link", "set", "v1p", "up"},
	{"ip", "link", "set", "v0", "up"},
	{"ip", "link", "set", "v1", "up"},
	{"ip", "addr", "add", "192.0.2.10/24", "dev", "v0"},
	{"ip", "addr", "add", "198.51.100.10/24", "dev", "v1"},
	{"ip", "route", "add", "default", "via", "192.0.2.1"},
}

// TestRouteChangesLive checks, in a namespace of its own (root only), that
// the snapshots a Monitor builds from route events are those a dump of the
// kernel shows after each of a series of route changes: adds, replaces,
// deletes, multipath, appended routes, IPv6 next hops, a link going down.
func TestRouteChangesLive(t *testing.T) {
	isolate.Run(t, "^TestRouteChangesLiveChild$", isolate.Options{NewNetNS: true, Commands: routeChangeHost})
}

func TestRouteChangesLiveChild(t *testing.T) {
	if o := isolate.Current(); !o.NewNetNS || o.NoNetlink {
		t.Skip("only in the child of TestRouteChangesLive")
	}
	followKernel(t, []string{
		"route add 10.1.0.0/16 via 192.0.2.1",
		"route replace 10.1.0.0/16 via 192.0.2.2",
		"route add 10.2.0.0/16 nexthop via 192.0.2.1 nexthop via 198.51.100.1",
		"route replace 10.2.0.0/16 via 198.51.100.1",
		"route add 10.3.0.0/16 via 192.0.2.1 metric 5",
		"route change 10.3.0.0/16 via 192.0.2.2 metric 5",
		"route append 10.1.0.0/16 via 192.0.2.3",
		"route replace 10.1.0.0/16 via 192.0.2.4",
		"route del 10.1.0.0/16 via 192.0.2.3",
		"route add blackhole 10.4.0.0/16",
		"route add 10.5.0.0/16 via 198.51.100.1 table 101",
		"rule add from 198.51.100.10 lookup 101",
		"route replace 10.5.0.0/16 via 198.51.100.2 table 101",
		"-6 route add 2001:db8:1::/48 via fe80::1 dev v0",
		"-6 route append 2001:db8:1::/48 via fe80::2 dev v1",
		"-6 route del 2001:db8:1::/48 via fe80::1 dev v0",
		"-6 route replace 2001:db8:1::/48 via fe80::3 dev v0",
		"-6 route add 2001:db8:2::/48 nexthop via fe80::1 dev v0 nexthop via fe80::2 dev v1",
		"-6 route replace 2001:db8:2::/48 via fe80::2 dev v1",
		"link set v1 down",
		"link set v1 up",
		"route add 10.6.0.0/16 via 198.51.100.1",
		"route del 10.3.0.0/16 metric 5",
		"-6 route del 2001:db8:1::/48",
	})
}

// followKernel runs each of the ip commands steps, and after each one checks
// that a Monitor's snapshot becomes the host a dump shows (awaitKernel).
func followKernel(t *testing.T, steps []string) {
	t.Helper()
	m, err := New(WithLogger(nopLogger()), WithDebounce(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	dumper, err := newBackend(config{log: nopLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer dumper.close()
	for _, step := range steps {
		if out, err := exec.Command("ip", strings.Fields(step)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", step, err, out)
		}
		awaitKernel(t, m, dumper, step)
	}
}

// awaitKernel waits until m's snapshot is the host a dump shows.
func awaitKernel(t *testing.T, m *Monitor, dumper backend, step string) {
	t.Helper()
	var want *Snapshot
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var err error
		if want, _, err = dumper.dump(); err != nil {
			t.Fatal(err)
		}
		if sameHost(want, m.Snapshot()) {
			return
		}
	}
	got := m.Snapshot()
	t.Errorf("after ip %s: the Monitor's snapshot is not the kernel's", step)
	for _, r := range want.Routes {
		if !slices.Contains(got.Routes, r) {
			t.Errorf("  missing %+v", r)
		}
	}
	for _, r := range got.Routes {
		if !slices.Contains(want.Routes, r) {
			t.Errorf("  extra   %+v", r)
		}
	}
}
