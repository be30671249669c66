package netstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Nexthop objects (Linux 5.3): next hops of their own ("ip nexthop add id 10
// via 192.0.2.1 dev eth0"), groups of them ("ip nexthop add id 20 group
// 10/11"), and routes that use one ("ip route add default nhid 20"), as FRR's
// zebra installs a router's table. With net.ipv4.nexthop_compat_mode=1, the
// default, the kernel shows such a route with the next hops expanded
// (RTA_GATEWAY and RTA_OIF, or RTA_MULTIPATH) besides RTA_NH_ID; with 0 (zebra
// sets it) with RTA_NH_ID alone, in dumps and events. A dump therefore reads
// the objects too (RTM_GETNEXTHOP), and a route that names one and shows no
// next hop gets those of the object, or of its group's members, as compat mode
// 1 shows them: a blackhole's is the loopback interface.
//
// A nexthop message is
//
//	struct nhmsg {              // 8 bytes
//		unsigned char nh_family;   // AF_INET, AF_INET6; AF_UNSPEC for a group
//		unsigned char nh_scope;
//		unsigned char nh_protocol;
//		unsigned char resvd;
//		unsigned int  nh_flags;    // RTNH_F_*
//	};
//
// followed by attributes: NHA_ID (u32), NHA_GROUP (an array of struct
// nexthop_grp { u32 id; u8 weight; u8 resvd1; u16 resvd2; }), NHA_BLACKHOLE
// (a flag), NHA_OIF (u32), NHA_GATEWAY (4 or 16 bytes). The others (the
// group's type, encapsulation, FDB next hops) change no Route.

const (
	rtaNHID = 30 // RTA_NH_ID: the id of a route's nexthop object (Linux 5.3)
	// loopbackIndex is the interface index of a namespace's lo, which the
	// kernel creates first (LOOPBACK_IFINDEX): a blackhole's next hop.
	loopbackIndex = 1
)

var errNexthop = errors.New("netstate: RTM_NEWNEXTHOP")

// nexthopObject is one nexthop object as the kernel dumps it.
type nexthopObject struct {
	id        uint32
	index     int        // NHA_OIF; 0 without
	gateway   netip.Addr // NHA_GATEWAY, unmapped, without zone; invalid without
	blackhole bool       // NHA_BLACKHOLE
	group     []uint32   // NHA_GROUP: its members' ids; nil for a single next hop
}

// parseNexthop decodes the body of an RTM_NEWNEXTHOP message. An object
// without an id, or of an attribute of the wrong size, is an error.
func parseNexthop(b []byte) (nexthopObject, error) {
	if len(b) < unix.SizeofNhmsg {
		return nexthopObject{}, fmt.Errorf("%w: %d bytes, want at least %d", errNexthop, len(b), unix.SizeofNhmsg)
	}
	ad, err := netlink.NewAttributeDecoder(b[unix.SizeofNhmsg:])
	if err != nil {
		return nexthopObject{}, fmt.Errorf("%w: %w", errNexthop, err)
	}
	var (
		o     nexthopObject
		hasID bool
	)
	for ad.Next() {
		v := ad.Bytes()
		switch ad.Type() {
		case unix.NHA_ID:
			if len(v) != 4 {
				return nexthopObject{}, fmt.Errorf("%w: NHA_ID of %d bytes", errNexthop, len(v))
			}
			o.id, hasID = binary.NativeEndian.Uint32(v), true
		case unix.NHA_OIF:
			if len(v) != 4 {
				return nexthopObject{}, fmt.Errorf("%w: NHA_OIF of %d bytes", errNexthop, len(v))
			}
			o.index = int(int32(binary.NativeEndian.Uint32(v)))
		case unix.NHA_GATEWAY:
			ip, ok := netipAddr(v)
			if !ok {
				return nexthopObject{}, fmt.Errorf("%w: NHA_GATEWAY of %d bytes", errNexthop, len(v))
			}
			o.gateway = ip
		case unix.NHA_BLACKHOLE:
			o.blackhole = true
		case unix.NHA_GROUP:
			if len(v) == 0 || len(v)%unix.SizeofNexthopGrp != 0 {
				return nexthopObject{}, fmt.Errorf("%w: NHA_GROUP of %d bytes", errNexthop, len(v))
			}
			o.group = make([]uint32, 0, len(v)/unix.SizeofNexthopGrp)
			for ; len(v) > 0; v = v[unix.SizeofNexthopGrp:] {
				o.group = append(o.group, binary.NativeEndian.Uint32(v[:4]))
			}
		}
	}
	if err := ad.Err(); err != nil {
		return nexthopObject{}, fmt.Errorf("%w: %w", errNexthop, err)
	}
	if !hasID {
		return nexthopObject{}, fmt.Errorf("%w: no NHA_ID", errNexthop)
	}
	return o, nil
}

// routeHop is one next hop of a route: its interface and gateway (without
// zone), as a Route has them.
type routeHop struct {
	index   int
	gateway netip.Addr
}

// nexthops are a dump's nexthop objects, by id: the next hops a route using
// one has. An object that cannot be resolved (a group with a member the dump
// lacks) is left out. Nil when the host has none.
type nexthops map[uint32][]routeHop

// resolveNexthops returns the next hops of each of objs: a single object's
// own, a group's members' in the group's order.
func resolveNexthops(objs map[uint32]nexthopObject) nexthops {
	if len(objs) == 0 {
		return nil
	}
	single := func(o nexthopObject) routeHop {
		if o.blackhole {
			return routeHop{index: loopbackIndex}
		}
		return routeHop{index: o.index, gateway: o.gateway}
	}
	out := make(nexthops, len(objs))
next:
	for id, o := range objs {
		if o.group == nil {
			out[id] = []routeHop{single(o)}
			continue
		}
		hops := make([]routeHop, 0, len(o.group))
		for _, m := range o.group {
			member, ok := objs[m]
			if !ok || member.group != nil { // the kernel nests no groups
				continue next
			}
			hops = append(hops, single(member))
		}
		out[id] = hops
	}
	return out
}

// of returns the next hops of route message r, whose bytes are data, when it
// uses a nexthop object and shows no next hop of its own (compat mode 0): the
// object's; nil for any other route. known is false for a route of an object
// not in n.
func (n nexthops) of(data []byte, r *rtnetlink.RouteMessage) (hops []routeHop, known bool) {
	a := &r.Attributes
	if a.OutIface != 0 || a.Gateway != nil || a.Via != nil || len(a.Multipath) != 0 {
		return nil, true
	}
	id, ok := routeNHID(data)
	if !ok {
		return nil, true
	}
	hops, known = n[id]
	return hops, known
}

// routeNHID returns the RTA_NH_ID of a route message's data; ok is false when
// it has none (or a malformed one). It walks the attributes as the decoder of
// the rest of the message (netlink.AttributeDecoder) does, without
// allocating: a router's dump holds a million routes.
func routeNHID(data []byte) (id uint32, ok bool) {
	if len(data) < unix.SizeofRtMsg {
		return 0, false
	}
	for b := data[unix.SizeofRtMsg:]; len(b) >= unix.SizeofRtAttr; {
		n := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		switch {
		case n > len(b) || (n > 0 && n < unix.SizeofRtAttr):
			return 0, false
		case n == 0: // a header alone, which the decoder steps over
			n = unix.SizeofRtAttr
		case typ == rtaNHID && n == unix.SizeofRtAttr+4:
			return binary.NativeEndian.Uint32(b[4:8]), true
		}
		b = b[min(nlmsgAlign(n), len(b)):]
	}
	return 0, false
}
