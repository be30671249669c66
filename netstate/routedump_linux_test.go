package netstate

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/getapr/getapr/internal/isolate"
)

// routeMessages marshals routes as the kernel sends them, for a dumpMessages.
func routeMessages(tb testing.TB, routes []rtnetlink.RouteMessage) []netlink.Message {
	tb.Helper()
	out := make([]netlink.Message, 0, len(routes))
	for _, r := range routes {
		b, err := r.MarshalBinary()
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWROUTE}, Data: b})
	}
	return out
}

// snapshotOf returns the snapshot of d, failing tb if a message of d does not
// decode.
func snapshotOf(tb testing.TB, d dumpMessages) *Snapshot {
	tb.Helper()
	s, _, err := d.snapshot(time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// wholeTableSnapshot builds the snapshot of a dump, and the keys of more than
// one kernel route in it, as netstate did before the dump decoded its routes
// one at a time: every route message decoded into an rtnetlink.RouteMessage
// first, the whole table held, and only then converted. It is the reference
// buildSnapshot must agree with.
func wholeTableSnapshot(msgs []netlink.Message, taken time.Time) (*Snapshot, map[aliasKey]bool) {
	var (
		others []netlink.Message
		routes []rtnetlink.RouteMessage
		from   []netip.Prefix
		data   [][]byte
	)
	for _, m := range msgs {
		if m.Header.Type != unix.RTM_NEWROUTE {
			others = append(others, m)
			continue
		}
		if r, ok := unmarshalRoute(m.Data); ok {
			routes = append(routes, r)
			from = append(from, routeFrom(m.Data))
			data = append(data, m.Data)
		}
	}
	d, _ := decodeDump(others)
	s, idx, _ := buildSnapshot(others, taken)
	tables := s.lookupTables()
	s.Routes = nil
	for i, r := range routes {
		hops, _ := idx.nexthops.of(data[i], &r)
		s.Routes = s.appendRoutes(s.Routes, r, from[i], hops, tables)
	}
	slices.SortFunc(s.Routes, compareRoutes)
	s.Gateway4, s.Gateway6 = s.defaultGateway(false), s.defaultGateway(true)
	s.Neighbors = s.routerNeighbors(d.neighs)
	return s, wholeTableAliases(routes, from, tables)
}

// unmarshalRoute decodes a route message's data; ok is false when rtnetlink
// fails or panics.
func unmarshalRoute(data []byte) (r rtnetlink.RouteMessage, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return r, r.UnmarshalBinary(data) == nil
}

// wholeTableAliases is sharedAliases as it was, over the decoded table.
func wholeTableAliases(routes []rtnetlink.RouteMessage, from []netip.Prefix, tables map[uint32]bool) map[aliasKey]bool {
	var (
		shared map[aliasKey]bool
		last   aliasKey
		seen   bool
	)
	for i := range routes {
		k, ok := aliasOf(&routes[i], from[i], tables)
		if !ok {
			continue
		}
		if (seen && k == last) || routes[i].Tos != 0 {
			if shared == nil {
				shared = make(map[aliasKey]bool)
			}
			shared[k] = true
		}
		last, seen = k, true
	}
	return shared
}

// checkSameAsWholeTable fails t unless buildSnapshot of msgs is what
// wholeTableSnapshot builds: the very same snapshot (nil and empty slices
// told apart) and the same shared keys.
func checkSameAsWholeTable(t *testing.T, msgs []netlink.Message) {
	t.Helper()
	taken := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	want, wantShared := wholeTableSnapshot(msgs, taken)
	got, gotIndex, _ := buildSnapshot(msgs, taken)
	gotShared := gotIndex.shared
	if !reflect.DeepEqual(got, want) {
		t.Errorf("snapshot differs from the whole-table decode's")
		diffRoutes(t, got.Routes, want.Routes)
		if !reflect.DeepEqual(got.Routes, want.Routes) && slices.Equal(got.Routes, want.Routes) {
			t.Errorf("  routes: nil %v, want nil %v", got.Routes == nil, want.Routes == nil)
		}
		if got.Gateway4 != want.Gateway4 || got.Gateway6 != want.Gateway6 {
			t.Errorf("  gateways %v %v, want %v %v", got.Gateway4, got.Gateway6, want.Gateway4, want.Gateway6)
		}
		if !reflect.DeepEqual(got.Neighbors, want.Neighbors) {
			t.Errorf("  neighbours %+v, want %+v", got.Neighbors, want.Neighbors)
		}
	}
	if !reflect.DeepEqual(gotShared, wantShared) {
		t.Errorf("shared keys %v, want %v", gotShared, wantShared)
	}
}

func diffRoutes(t *testing.T, got, want []Route) {
	t.Helper()
	for _, r := range want {
		if !slices.Contains(got, r) {
			t.Errorf("  missing %+v", r)
		}
	}
	for _, r := range got {
		if !slices.Contains(want, r) {
			t.Errorf("  extra   %+v", r)
		}
	}
	if len(got) != len(want) {
		t.Errorf("  %d routes, want %d", len(got), len(want))
	}
}

// withRouteAttr returns m with attribute typ, of value v, appended.
func withRouteAttr(m netlink.Message, typ uint16, v []byte) netlink.Message {
	data := slices.Clone(m.Data)
	data = binary.NativeEndian.AppendUint16(data, uint16(4+len(v)))
	data = binary.NativeEndian.AppendUint16(data, typ)
	data = append(data, v...)
	m.Data = append(data, make([]byte, nlmsgAlign(len(data))-len(data))...)
	return m
}

// withRouteFlags returns m with rtm_flags or-ed with f.
func withRouteFlags(m netlink.Message, f uint32) netlink.Message {
	m.Data = slices.Clone(m.Data)
	binary.NativeEndian.PutUint32(m.Data[8:12], binary.NativeEndian.Uint32(m.Data[8:12])|f)
	return m
}

// withRouteHeader returns m with byte i of its struct rtmsg set to v.
func withRouteHeader(m netlink.Message, i int, v byte) netlink.Message {
	m.Data = slices.Clone(m.Data)
	m.Data[i] = v
	return m
}

// syntheticRoutes are route messages (and nexthop objects) of every kind the
// conversion tells apart, on the recorded multihomed host (v0 is 100, v1 101;
// rules select tables 254 and 101).
func syntheticRoutes(t *testing.T) []netlink.Message {
	u32 := func(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
	nhID := func(m netlink.Message, id uint32) netlink.Message { return withRouteAttr(m, rtaNHID, u32(id)) }
	metrics := func() []byte { // RTA_METRICS { RTAX_MTU 1400 }
		b := binary.NativeEndian.AppendUint16(nil, 8)
		b = binary.NativeEndian.AppendUint16(b, unix.RTAX_MTU)
		return append(b, u32(1400)...)
	}
	via6 := rt{dst: "10.12.0.0/16", oif: 100}.msg(t)
	via6 = withRouteAttr(via6, unix.RTA_VIA, append(binary.NativeEndian.AppendUint16(nil, unix.AF_INET6), netip.MustParseAddr("fe80::1").AsSlice()...))
	out := msgs(t,
		routeA, routeA2, routeA100, routeECMP, route6, route6M, route6B,
		route6.withPref(1), rt{dst: "2001:db8:2::/48", gw: "fe80::1", oif: 100, prio: 1024}.withPref(3),
		rt{dst: "2001:db8:3::/48", gw: "fe80::1", oif: 100, prio: 1024}.withPref(2), // invalid: medium
		rt{dst: "2001:db8:4::/48", gw: "fe80::1", oif: 100, prio: 1024}.withPref(0),
		rt{dst: "::/0", gw: "fe80::9", oif: 101, prio: 1024}.withPref(1),
		rt{dst: "0.0.0.0/0", gw: "192.0.2.9", oif: 100, prio: 50},
		rt{dst: "0.0.0.0/0", gw: "198.51.100.9", oif: 101, prio: 50, table: 101},
		rt{dst: "10.3.0.0/16", gw: "192.0.2.1", oif: 100, tos: 0x10},
		rt{dst: "10.3.0.0/16", gw: "192.0.2.2", oif: 100},
		rt{dst: "10.5.0.0/16", gw: "198.51.100.1", oif: 101, table: 101},
		rt{dst: "10.6.0.0/16", gw: "198.51.100.1", oif: 101, table: 300},   // no rule looks it up
		rt{dst: "10.6.0.0/16", gw: "198.51.100.1", oif: 101, table: 70000}, // nor this
		rt{dst: "10.7.0.0/16", oif: 1, typ: unix.RTN_LOCAL},
		rt{dst: "10.7.0.0/16", gw: "192.0.2.1", oif: 100}, // shares the local route's key
		rt{dst: "192.0.2.255/32", oif: 100, typ: unix.RTN_BROADCAST},
		rt{dst: "192.0.2.10/32", oif: 100, typ: unix.RTN_LOCAL, table: localTable},
		rt{dst: "2001:db8:a::/128", oif: 100, typ: unix.RTN_ANYCAST, table: localTable, prio: 0},
		rt{dst: "ff00::/8", oif: 100, typ: unix.RTN_MULTICAST, table: localTable, prio: 256},
		rt{dst: "224.0.0.0/4", oif: 100, typ: unix.RTN_MULTICAST},
		rt{dst: "10.8.0.0/16", typ: unix.RTN_UNREACHABLE},
		rt{dst: "10.8.1.0/24", typ: unix.RTN_PROHIBIT},
		rt{dst: "10.8.2.0/24", typ: unix.RTN_BLACKHOLE},
		rt{dst: "10.8.3.0/24", typ: unix.RTN_THROW, table: 101},
		rt{dst: "10.8.4.0/24", typ: unix.RTN_NAT},
		rt{dst: "10.8.5.0/24", typ: unix.RTN_XRESOLVE},
		rt{dst: "2001:db8:5::/48", oif: 1, typ: unix.RTN_UNREACHABLE, prio: 1024},
		rt{dst: "2001:db8:6::/48", oif: 1, typ: unix.RTN_THROW, prio: 1024, table: 101},
		rt{dst: "2001:db8:7::/48", gw: "fe80::1", oif: 100, prio: 1024, from: "2001:db8:c::/48"},
		rt{dst: "2001:db8:7::/48", gw: "fe80::2", oif: 101, prio: 1024, from: "2001:db8:d::/48"},
		rt{dst: "::/0", gw: "fe80::3", oif: 101, prio: 1024, from: "2001:db8:b::/64", table: 101},
		rt{dst: "2001:db8:8::/48", prio: 1024, hops: []string{"fe80::1%100", "2001:db8:a::1%100", "fe80::2%101"}},
		rt{dst: "10.9.0.0/16", hops: []string{"192.0.2.1%100", "192.0.2.2%100", "198.51.100.1%101"}, prio: 20},
		rt{dst: "10.9.0.0/16", gw: "192.0.2.3", oif: 100, prio: 20}, // appended after a multipath route
		rt{dst: "10.10.0.0/16", gw: "192.0.2.1", oif: 100, prio: 7},
		rt{dst: "10.10.0.0/16", gw: "192.0.2.1", oif: 100, prio: 8},
		rt{dst: "10.10.0.0/16", gw: "192.0.2.1", oif: 102, prio: 7}, // on the link that is down
		rt{dst: "10.11.0.0/16", gw: "192.0.2.1", oif: 999},          // on a link the dump lacks
		rt{dst: "2001:db8:9::/48", gw: "fe80::1", oif: 999, prio: 1024},
	)
	src := rt{dst: "10.13.0.0/16", gw: "192.0.2.1", oif: 100}.msg(t)
	src = withRouteAttr(src, unix.RTA_PREFSRC, netip.MustParseAddr("192.0.2.10").AsSlice())
	src6 := rt{dst: "2001:db8:d::/48", gw: "fe80::1", oif: 100, prio: 1024}.msg(t)
	src6 = withRouteAttr(src6, unix.RTA_PREFSRC, netip.MustParseAddr("192.0.2.10").AsSlice()) // of the other family
	unspec := rt{dst: "10.14.0.0/16", gw: "198.51.100.1", oif: 101, table: 101}.msg(t)
	unspec = withRouteHeader(unspec, 4, unix.RT_TABLE_UNSPEC)
	compat := rt{dst: "10.14.0.0/16", gw: "198.51.100.1", oif: 101}.msg(t)
	compat = withRouteHeader(withRouteAttr(compat, unix.RTA_TABLE, u32(101)), 4, 252) // RTA_TABLE twice: the last wins
	out = append(out,
		src, src6, unspec, compat, via6,
		withRouteFlags(rt{dst: "10.15.0.0/16", gw: "192.0.2.1", oif: 100}.msg(t), unix.RTM_F_CLONED),
		withRouteFlags(rt{dst: "2001:db8:e::/128", gw: "fe80::1", oif: 100, prio: 1024}.msg(t), unix.RTM_F_CLONED),
		withRouteFlags(rt{dst: "10.15.1.0/24", gw: "192.0.2.1", oif: 100}.msg(t), unix.RTNH_F_ONLINK|unix.RTNH_F_LINKDOWN),
		nhID(rt{dst: "10.16.0.0/16", gw: "192.0.2.1", oif: 100}.msg(t), 7), // nexthop object, compat mode
		nhID(rt{dst: "10.16.1.0/24", hops: []string{"192.0.2.1%100", "198.51.100.1%101"}}.msg(t), 9),
		nhID(rt{dst: "10.16.2.0/24"}.msg(t), 8), // nexthop object, compat mode off
		nhID(rt{dst: "2001:db8:16::/48", gw: "fe80::1", oif: 100, prio: 1024}.msg(t), 17),
		withRouteAttr(rt{dst: "10.17.0.0/16", gw: "192.0.2.1", oif: 100, prio: 3}.msg(t), unix.RTA_METRICS, metrics()),
		withRouteAttr(rt{dst: "2001:db8:17::/48", gw: "fe80::1", oif: 100, prio: 1024}.msg(t), unix.RTA_EXPIRES, u32(300)),
		withRouteAttr(rt{dst: "10.18.0.0/16", gw: "192.0.2.1", oif: 100}.msg(t), unix.RTA_MARK, u32(5)),
		withRouteHeader(rt{dst: "10.19.0.0/16", gw: "192.0.2.1", oif: 100}.msg(t), 1, 40), // prefix too long
		withRouteHeader(rt{dst: "10.20.0.0/16", gw: "192.0.2.1", oif: 100}.msg(t), 0, unix.AF_INET6),
		withRouteHeader(rt{dst: "10.21.0.0/16", gw: "192.0.2.1", oif: 100}.msg(t), 0, unix.AF_MPLS),
		withRouteAttr(rt{dst: "10.22.0.0/16", oif: 100}.msg(t), unix.RTA_GATEWAY, []byte{192, 0, 2}), // bad gateway
		withRouteAttr(rt{dst: "10.23.0.0/16", oif: 100}.msg(t), unix.RTA_PRIORITY, []byte{1}),        // bad metric
		withRouteAttr(rt{dst: "10.24.0.0/16", oif: 100}.msg(t), unix.RTA_MULTIPATH, []byte{8, 0, 0}), // bad next hops
		withRouteAttr(rt{dst: "10.25.0.0/16", oif: 100}.msg(t), unix.RTA_VIA, []byte{2}),             // bad via
		withRouteAttr(rt{dst: "2001:db8:18::/48", gw: "fe80::1", oif: 100, prio: 1024}.msg(t), unix.RTA_SRC, []byte{1, 2, 3}),
		netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWROUTE}, Data: []byte{unix.AF_INET, 24}}, // truncated
		netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWROUTE}, Data: make([]byte, unix.SizeofRtMsg)},
		// No attributes at all: an IPv4 default route of the main table.
		netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWROUTE},
			Data: []byte{unix.AF_INET, 0, 0, 0, mainTable, unix.RTPROT_STATIC, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNREACHABLE, 0, 0, 0, 0}},
		netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWROUTE}},
		// The object of the route of 10.16.2.0/24 above, and a group of it.
		nhMessage(nhMsg(unix.AF_INET, nla{unix.NHA_ID, u32(8)}, nla{unix.NHA_OIF, u32(101)}, nla{unix.NHA_GATEWAY, []byte{198, 51, 100, 1}})),
		nhMessage(nhMsg(0, nla{unix.NHA_ID, u32(18)}, nla{unix.NHA_GROUP, nhGroupOf(8)})),
		nhID(rt{dst: "10.16.3.0/24"}.msg(t), 18),
	)
	return out
}

// TestDumpRoutesAsWholeTable checks that the snapshot of a dump is, to the
// last field, the one netstate built when it decoded the whole route table
// before converting it: on the recorded host, with routes of every kind the
// conversion tells apart added (multipath, nexthop objects, types left out,
// tables selected or not, metrics and router preferences, source prefixes,
// clones, TOS, appended routes, undecodable messages), in the dump's order
// and with the routes before the links and rules they need, and with tables
// of many routes mostly kept or mostly left out.
func TestDumpRoutesAsWholeTable(t *testing.T) {
	recorded := readMultihomed(t)
	routes := syntheticRoutes(t)
	var many, manyOut []netlink.Message
	for i := range 3000 {
		dst := manyRouteDst(i).String()
		many = append(many, rt{dst: dst, gw: "192.0.2.2", oif: 100}.msg(t))
		manyOut = append(manyOut, rt{dst: dst, gw: "192.0.2.2", oif: 100, table: 300}.msg(t))
	}
	for _, tt := range []struct {
		name string
		msgs []netlink.Message
	}{
		{"recorded", recorded},
		{"synthetic", append(slices.Clone(recorded), routes...)},
		{"routes first", append(slices.Clone(routes), recorded...)},
		{"routes alone", routes},
		{"each alone", nil},
		{"many", append(slices.Clone(recorded), many...)},
		{"many left out", append(slices.Clone(recorded), manyOut...)},
		{"nothing", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name != "each alone" {
				checkSameAsWholeTable(t, tt.msgs)
				return
			}
			for i, m := range routes {
				t.Run(fmt.Sprint(i), func(t *testing.T) {
					checkSameAsWholeTable(t, append(slices.Clone(recorded), m))
				})
			}
		})
	}
}

// FuzzDumpRoutesAsWholeTable feeds arbitrary message streams to both decoders.
func FuzzDumpRoutesAsWholeTable(f *testing.F) {
	recorded := readMultihomed(f)
	f.Add(joinMessages(recorded))
	for _, m := range recorded {
		f.Add(joinMessages([]netlink.Message{m}))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := splitMessages(b)
		checkSameAsWholeTable(t, msgs)
	})
}

// kernelRouteKinds are ip commands that make a kernel dump hold routes of
// every kind the conversion tells apart, on routeChangeHost. A command the
// kernel refuses (an option it was built without) is skipped.
var kernelRouteKinds = []string{
	"route add 10.1.0.0/16 via 192.0.2.1",
	"route append 10.1.0.0/16 via 192.0.2.3",
	"route add 10.2.0.0/16 nexthop via 192.0.2.1 weight 2 nexthop via 198.51.100.1",
	"route add 10.3.0.0/16 via 192.0.2.1 metric 5 mtu 1400 advmss 1360",
	"route add 10.3.0.0/16 via 192.0.2.2 metric 7 src 192.0.2.10",
	"route add 10.9.0.0/16 tos 0x10 via 192.0.2.1",
	"route add blackhole 10.4.0.0/16",
	"route add unreachable 10.4.1.0/24",
	"route add prohibit 10.4.2.0/24",
	"route add throw 10.4.3.0/24",
	"route add local 10.7.0.0/16 dev lo table main",
	"route append 10.7.0.0/16 via 192.0.2.1",
	"route add broadcast 10.7.255.255 dev v0 table main",
	"route add multicast 224.1.0.0/16 dev v0 table main",
	"route add 10.5.0.0/16 via 198.51.100.1 table 101",
	"route add throw 10.5.1.0/24 table 101",
	"rule add from 198.51.100.10 lookup 101",
	"route add 10.6.0.0/16 via 198.51.100.1 table 300",
	"route add 10.6.0.0/16 via 198.51.100.1 table 100000",
	"rule add from 198.51.100.11 lookup 100000",
	"route add 10.6.1.0/24 via 192.0.2.1 table 100001",
	"nexthop add id 7 via 192.0.2.1 dev v0",
	"nexthop add id 8 via 198.51.100.1 dev v1",
	"nexthop add id 9 group 7/8",
	"nexthop add id 10 blackhole",
	"route add 10.10.0.0/16 nhid 7",
	"route add 10.11.0.0/16 nhid 9",
	"route add 10.11.1.0/24 nhid 10",
	"route add 10.12.0.0/16 via inet6 fe80::1 dev v0",
	"route add 10.13.0.0/16 dev v1 scope link",
	"route add 10.13.1.0/24 via 192.0.2.1 onlink dev v1",
	"route add default via 198.51.100.1 metric 200",
	"-6 route add 2001:db8:1::/48 via fe80::1 dev v0 pref high",
	"-6 route add 2001:db8:1::/48 via fe80::2 dev v1 metric 2000 pref low",
	"-6 route add 2001:db8:2::/48 nexthop via fe80::1 dev v0 nexthop via fe80::2 dev v1",
	"-6 route add 2001:db8:3::/48 from 2001:db8:c::/48 via fe80::1 dev v0",
	"-6 route add 2001:db8:3::/48 from 2001:db8:d::/48 via fe80::2 dev v1",
	"-6 route add default via fe80::1 dev v0 metric 1024 pref low",
	"-6 route add default via fe80::2 dev v1 metric 1100 pref high",
	"-6 route add default from 2001:db8:c::/48 via fe80::3 dev v0",
	"-6 route add unreachable 2001:db8:4::/48",
	"-6 route add prohibit 2001:db8:4:1::/64",
	"-6 route add blackhole 2001:db8:4:2::/64",
	"-6 route add throw 2001:db8:4:3::/64",
	"-6 route add 2001:db8:5::/48 dev v0 table 101",
	"-6 rule add from 2001:db8:c::/48 lookup 101",
	"-6 route add 2001:db8:6::/48 via fe80::1 dev v0 expires 300",
	"-6 route add 2001:db8:7::/48 via fe80::1 dev v0 mtu 1280",
	"-6 route add anycast 2001:db8:8::/64 dev v0 table main",
	"-6 nexthop add id 17 via fe80::1 dev v0",
	"-6 nexthop add id 18 via fe80::2 dev v1",
	"nexthop add id 19 group 17/18",
	"-6 route add 2001:db8:17::/48 nhid 17",
	"-6 route add 2001:db8:19::/48 nhid 19",
	"-6 addr add 2001:db8:a::10/64 dev v0 nodad",
	"-6 addr add 2001:db8:b::10/64 dev v1 nodad",
}

// TestDumpRoutesAsWholeTableLive checks, in a namespace of its own (root
// only), that the snapshot of the kernel's own dump of routes of every kind
// (kernelRouteKinds) is the one the whole-table decode built.
func TestDumpRoutesAsWholeTableLive(t *testing.T) {
	isolate.Run(t, "^TestDumpRoutesAsWholeTableLiveChild$", isolate.Options{NewNetNS: true, Commands: routeChangeHost})
}

func TestDumpRoutesAsWholeTableLiveChild(t *testing.T) {
	if o := isolate.Current(); !o.NewNetNS || o.NoNetlink {
		t.Skip("only in the child of TestDumpRoutesAsWholeTableLive")
	}
	var refused []string
	for _, c := range kernelRouteKinds {
		if out, err := exec.Command("ip", strings.Fields(c)...).CombinedOutput(); err != nil {
			refused = append(refused, fmt.Sprintf("ip %s: %v: %s", c, err, strings.TrimSpace(string(out))))
		}
	}
	if len(refused) > len(kernelRouteKinds)/4 {
		t.Fatalf("the kernel refused most route kinds:\n%s", strings.Join(refused, "\n"))
	}
	for _, r := range refused {
		t.Log("skipped:", r)
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, compat := range []string{"1", "0"} { // nexthop objects' routes with their next hops, then without
		t.Run("nexthop_compat_mode="+compat, func(t *testing.T) {
			if out, err := exec.Command("sysctl", "-qw", "net.ipv4.nexthop_compat_mode="+compat).CombinedOutput(); err != nil {
				t.Skipf("sysctl: %v: %s", err, out)
			}
			msgs, _, err := dumpAll(c, new(refusedDumps))
			if err != nil {
				t.Fatal(err)
			}
			checkSameAsWholeTable(t, msgs)
			s, _, _ := buildSnapshot(msgs, time.Now())
			t.Logf("%d messages, %d routes", len(msgs), len(s.Routes))
		})
	}
}
