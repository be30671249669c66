package netstate

import (
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
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

// TestRouteChangeReadsNothing: a change of routes alone is applied to the
// snapshot without reading the host again; any other change, and lost events,
// make the rebuild read it all.
func TestRouteChangeReadsNothing(t *testing.T) {
	m, sn := newRouteMonitor(t, nil)
	rebuild := func(what string, wantDump bool) *Snapshot {
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
