package netstate

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Nexthop objects as Linux 6.18 dumps them (the bodies of RTM_NEWNEXTHOP, in
// a little-endian host's byte order), from TestNexthopCompatModesLive's
// namespace (v0 is 3, v1 5).
const (
	nhVia4      = "02fd0000000000000800010007000000080005000300000008000600c0000201"                                                                                                                         // id 7 via 192.0.2.1 dev v0
	nhDev       = "02fe000000000000080001000b0000000800050005000000"                                                                                                                                         // id 11 dev v1
	nhVia6      = "0afd0000000000000800010011000000080005000300000014000600fe800000000000000000000000000001"                                                                                                 // id 17 via fe80::1 dev v0
	nhBlackhole = "0200000000000000080001000a00000004000400"                                                                                                                                                 // id 10 blackhole
	nhGroup     = "0000000000000000080001000d0000000600030000000000140002000700000002000000080000000400000008000e0000000080"                                                                                 // id 13 group 7,3/8,5
	nhResilient = "0000000000000000080001000e0000000600030001000000140002000700000000000000080000000000000028000c80060001000800000008000200e02e000008000300000000000c000400000000000000000008000e0000000080" // id 14 group 7/8 type resilient buckets 8
)

// nla is one netlink attribute: its type and value.
type nla struct {
	typ uint16
	v   []byte
}

// nhMsg returns the body of an RTM_NEWNEXTHOP message of family with
// attributes attrs.
func nhMsg(family byte, attrs ...nla) []byte {
	b := []byte{family, 0, 0, 0, 0, 0, 0, 0}
	for _, a := range attrs {
		b = binary.NativeEndian.AppendUint16(b, uint16(4+len(a.v)))
		b = binary.NativeEndian.AppendUint16(b, a.typ)
		b = append(b, a.v...)
		b = append(b, make([]byte, nlmsgAlign(len(b))-len(b))...)
	}
	return b
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// nhGroupOf is an NHA_GROUP value: each id of weight 1.
func nhGroupOf(ids ...uint32) []byte {
	var b []byte
	for _, id := range ids {
		b = append(binary.NativeEndian.AppendUint32(b, id), 0, 0, 0, 0)
	}
	return b
}

// TestParseNexthop checks the decoding of nexthop objects, as the kernel
// dumps them and malformed.
func TestParseNexthop(t *testing.T) {
	littleEndian(t)
	ip := netip.MustParseAddr
	for _, tt := range []struct {
		name string
		b    []byte
		want nexthopObject
		bad  bool
	}{
		{name: "via IPv4", b: mustHex(t, nhVia4), want: nexthopObject{id: 7, index: 3, gateway: ip("192.0.2.1")}},
		{name: "device only", b: mustHex(t, nhDev), want: nexthopObject{id: 11, index: 5}},
		{name: "via IPv6", b: mustHex(t, nhVia6), want: nexthopObject{id: 17, index: 3, gateway: ip("fe80::1")}},
		{name: "blackhole", b: mustHex(t, nhBlackhole), want: nexthopObject{id: 10, blackhole: true}},
		{name: "group with weights", b: mustHex(t, nhGroup), want: nexthopObject{id: 13, group: []uint32{7, 8}}},
		{name: "resilient group", b: mustHex(t, nhResilient), want: nexthopObject{id: 14, group: []uint32{7, 8}}},
		{name: "IPv4-mapped gateway", b: nhMsg(unix.AF_INET6, nla{unix.NHA_ID, u32(1)}, nla{unix.NHA_GATEWAY, ip("::ffff:192.0.2.1").AsSlice()}),
			want: nexthopObject{id: 1, gateway: ip("192.0.2.1")}},
		{name: "empty", b: nil, bad: true},
		{name: "short header", b: []byte{2, 0, 0, 0}, bad: true},
		{name: "no id", b: nhMsg(unix.AF_INET, nla{unix.NHA_OIF, u32(3)}), bad: true},
		{name: "short id", b: nhMsg(unix.AF_INET, nla{unix.NHA_ID, []byte{1, 0}}), bad: true},
		{name: "short interface", b: nhMsg(unix.AF_INET, nla{unix.NHA_ID, u32(1)}, nla{unix.NHA_OIF, []byte{3}}), bad: true},
		{name: "bad gateway", b: nhMsg(unix.AF_INET, nla{unix.NHA_ID, u32(1)}, nla{unix.NHA_GATEWAY, []byte{192, 0, 2}}), bad: true},
		{name: "empty group", b: nhMsg(0, nla{unix.NHA_ID, u32(1)}, nla{unix.NHA_GROUP, nil}), bad: true},
		{name: "truncated group", b: nhMsg(0, nla{unix.NHA_ID, u32(1)}, nla{unix.NHA_GROUP, nhGroupOf(7, 8)[:12]}), bad: true},
		{name: "attribute past the end", b: mustHex(t, nhVia4)[:30], bad: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNexthop(tt.b)
			if tt.bad {
				if err == nil {
					t.Fatalf("parsed %+v; want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseNexthop: no panic; an object decoded has an id, a gateway
// unmapped and without zone, no empty group, and resolves without panic.
func FuzzParseNexthop(f *testing.F) {
	for _, s := range []string{nhVia4, nhDev, nhVia6, nhBlackhole, nhGroup, nhResilient} {
		f.Add(mustHex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parseNexthop(b)
		if err != nil {
			return
		}
		if g := o.gateway; g.IsValid() && (g.Is4In6() || g.Zone() != "") {
			t.Errorf("gateway %v", g)
		}
		if o.group != nil && len(o.group) == 0 {
			t.Error("empty group")
		}
		nhs := resolveNexthops(map[uint32]nexthopObject{o.id: o})
		if hops, ok := nhs[o.id]; ok != (o.group == nil) || (ok && len(hops) != 1) {
			t.Errorf("resolved to %+v, %v", hops, ok)
		}
	})
}

// FuzzRouteNHID: routeNHID finds what a full attribute decoder finds in a
// route message: the value of its first 4-byte RTA_NH_ID.
func FuzzRouteNHID(f *testing.F) {
	f.Add(withRouteAttr(rt{dst: "10.1.0.0/16"}.msg(f), rtaNHID, u32(9)).Data)
	f.Add(withRouteAttr(rt{dst: "10.1.0.0/16", gw: "192.0.2.1", oif: 100}.msg(f), rtaNHID, u32(7)).Data)
	f.Add(rt{dst: "2001:db8::/32", prio: 1024, hops: []string{"fe80::1%100"}}.msg(f).Data)
	f.Fuzz(func(t *testing.T, data []byte) {
		id, ok := routeNHID(data)
		if len(data) < unix.SizeofRtMsg {
			if ok {
				t.Fatalf("id %d in %d bytes", id, len(data))
			}
			return
		}
		ad, err := netlink.NewAttributeDecoder(data[unix.SizeofRtMsg:])
		if err != nil {
			return // malformed: routeNHID may have found one before the fault
		}
		var (
			want   uint32
			wantOK bool
		)
		for ad.Next() && !wantOK {
			if ad.Type() == rtaNHID && len(ad.Bytes()) == 4 {
				want, wantOK = binary.NativeEndian.Uint32(ad.Bytes()), true
			}
		}
		if ad.Err() == nil && (id != want || ok != wantOK) {
			t.Errorf("routeNHID = %d, %v; the decoder finds %d, %v", id, ok, want, wantOK)
		}
	})
}

// TestDumpResolvesNexthopObjects checks, on the recorded host (lo is 1, v0
// 100, v1 101), that a route showing only its nexthop object's id
// (nexthop_compat_mode 0) gets the object's next hops as the kernel shows them
// in compat mode 1, whatever the order of the messages; that one showing its
// next hops keeps them; and that one of an object the dump lacks keeps none.
func TestDumpResolvesNexthopObjects(t *testing.T) {
	ip := netip.MustParseAddr
	objects := []netlink.Message{
		nhMessage(nhMsg(unix.AF_INET, nla{unix.NHA_ID, u32(7)}, nla{unix.NHA_OIF, u32(100)}, nla{unix.NHA_GATEWAY, ip("192.0.2.1").AsSlice()})),
		nhMessage(nhMsg(unix.AF_INET6, nla{unix.NHA_ID, u32(8)}, nla{unix.NHA_OIF, u32(101)}, nla{unix.NHA_GATEWAY, ip("fe80::2").AsSlice()})),
		nhMessage(nhMsg(unix.AF_INET, nla{unix.NHA_ID, u32(9)}, nla{unix.NHA_BLACKHOLE, nil})),
		nhMessage(nhMsg(unix.AF_INET, nla{unix.NHA_ID, u32(11)}, nla{unix.NHA_OIF, u32(101)})),
		nhMessage(nhMsg(0, nla{unix.NHA_ID, u32(20)}, nla{unix.NHA_GROUP, nhGroupOf(7, 11)})),
		nhMessage(nhMsg(0, nla{unix.NHA_ID, u32(21)}, nla{unix.NHA_GROUP, nhGroupOf(7, 99)})), // a member the dump lacks
	}
	nhid := func(r rt, id uint32) netlink.Message { return withRouteAttr(r.msg(t), rtaNHID, u32(id)) }
	routes := []netlink.Message{
		nhid(rt{dst: "10.30.0.0/16"}, 7),
		nhid(rt{dst: "10.31.0.0/16"}, 8), // an IPv4 route via an IPv6 next hop
		nhid(rt{dst: "10.32.0.0/16", typ: unix.RTN_BLACKHOLE}, 9),
		nhid(rt{dst: "10.33.0.0/16", prio: 5}, 20),
		nhid(rt{dst: "2001:db8:30::/48", prio: 1024}, 8),
		nhid(rt{dst: "10.34.0.0/16", gw: "192.0.2.9", oif: 100}, 7), // compat mode 1: its own
		nhid(rt{dst: "10.35.0.0/16"}, 21),
		nhid(rt{dst: "10.36.0.0/16"}, 42),
	}
	want := []Route{
		{Dst: netip.MustParsePrefix("10.30.0.0/16"), Gateway: ip("192.0.2.1"), Index: 100, Table: mainTable},
		{Dst: netip.MustParsePrefix("10.31.0.0/16"), Gateway: ip("fe80::2%v1"), Index: 101, Table: mainTable},
		{Dst: netip.MustParsePrefix("10.32.0.0/16"), Index: loopbackIndex, Table: mainTable, Type: Blackhole},
		{Dst: netip.MustParsePrefix("10.33.0.0/16"), Gateway: ip("192.0.2.1"), Index: 100, Table: mainTable, Priority: 5},
		{Dst: netip.MustParsePrefix("10.33.0.0/16"), Index: 101, Table: mainTable, Priority: 5},
		{Dst: netip.MustParsePrefix("2001:db8:30::/48"), Gateway: ip("fe80::2%v1"), Index: 101, Table: mainTable, Priority: 1024},
		{Dst: netip.MustParsePrefix("10.34.0.0/16"), Gateway: ip("192.0.2.9"), Index: 100, Table: mainTable},
		{Dst: netip.MustParsePrefix("10.35.0.0/16"), Table: mainTable},
		{Dst: netip.MustParsePrefix("10.36.0.0/16"), Table: mainTable},
	}
	recorded := readMultihomed(t)
	for name, msgs := range map[string][]netlink.Message{
		"objects first": slices.Concat(recorded, objects, routes),
		"routes first":  slices.Concat(routes, recorded, objects),
	} {
		t.Run(name, func(t *testing.T) {
			s, _, err := buildSnapshot(msgs, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			var got []Route
			for _, r := range s.Routes {
				if slices.ContainsFunc(want, func(w Route) bool { return w.Dst == r.Dst }) {
					got = append(got, r)
				}
			}
			diffRoutes(t, got, want)
		})
	}
}

func nhMessage(b []byte) netlink.Message {
	return netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWNEXTHOP}, Data: b}
}
