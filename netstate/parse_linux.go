package netstate

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// localTable is the kernel's local table (RT_TABLE_LOCAL): routes to our own
// addresses, which a Snapshot leaves out.
const localTable = 255

// infinityLifetime is INFINITY_LIFE_TIME of struct ifa_cacheinfo.
const infinityLifetime = 0xFFFFFFFF

// errShortMessage is returned for a netlink message stream that ends mid-message.
var errShortMessage = errors.New("netstate: truncated netlink message")

// splitMessages splits a stream of netlink messages, as read from a netlink
// socket or stored in testdata, into messages. Data slices alias b.
func splitMessages(b []byte) ([]netlink.Message, error) {
	var out []netlink.Message
	for len(b) > 0 {
		if len(b) < unix.NLMSG_HDRLEN {
			return out, errShortMessage
		}
		n := int(binary.NativeEndian.Uint32(b[0:4]))
		if n < unix.NLMSG_HDRLEN || n > len(b) {
			return out, errShortMessage
		}
		out = append(out, netlink.Message{
			Header: netlink.Header{
				Length:   uint32(n),
				Type:     netlink.HeaderType(binary.NativeEndian.Uint16(b[4:6])),
				Flags:    netlink.HeaderFlags(binary.NativeEndian.Uint16(b[6:8])),
				Sequence: binary.NativeEndian.Uint32(b[8:12]),
				PID:      binary.NativeEndian.Uint32(b[12:16]),
			},
			Data: b[unix.NLMSG_HDRLEN:n],
		})
		b = b[min(nlmsgAlign(n), len(b)):]
	}
	return out, nil
}

// joinMessages is the inverse of splitMessages.
func joinMessages(msgs []netlink.Message) []byte {
	var b []byte
	for _, m := range msgs {
		n := unix.NLMSG_HDRLEN + len(m.Data)
		b = binary.NativeEndian.AppendUint32(b, uint32(n))
		b = binary.NativeEndian.AppendUint16(b, uint16(m.Header.Type))
		b = binary.NativeEndian.AppendUint16(b, uint16(m.Header.Flags))
		b = binary.NativeEndian.AppendUint32(b, m.Header.Sequence)
		b = binary.NativeEndian.AppendUint32(b, m.Header.PID)
		b = append(b, m.Data...)
		b = append(b, make([]byte, nlmsgAlign(n)-n)...)
	}
	return b
}

func nlmsgAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// dumpMessages is a dump's messages, decoded by kind but for the routes: a
// router holds 100,000 of them and more, so snapshot decodes each route
// message only as it converts it, once the links, rules and nexthop objects
// are known.
type dumpMessages struct {
	links    []rtnetlink.LinkMessage
	addrs    []rtnetlink.AddressMessage
	routes   []netlink.Message // RTM_NEWROUTE, as received
	rules    []rtnetlink.RuleMessage
	neighs   []rtnetlink.NeighMessage
	nexthops map[uint32]nexthopObject // by id; nil without any
}

// decode adds m to the dump if it is a link, address, route, rule,
// neighbour or nexthop object message. rtnetlink's decoders run on bytes from outside the
// process; a panic in one of them is turned into an error for that message.
func (d *dumpMessages) decode(m netlink.Message) (err error) {
	defer recoverDecode(m, &err)
	switch m.Header.Type {
	case unix.RTM_NEWLINK:
		var l rtnetlink.LinkMessage
		if err = l.UnmarshalBinary(m.Data); err == nil {
			d.links = append(d.links, l)
		}
	case unix.RTM_NEWADDR:
		var a rtnetlink.AddressMessage
		if err = a.UnmarshalBinary(m.Data); err == nil {
			d.addrs = append(d.addrs, a)
		}
	case unix.RTM_NEWROUTE:
		d.routes = append(d.routes, m)
	case unix.RTM_NEWRULE:
		var r rtnetlink.RuleMessage
		if err = r.UnmarshalBinary(m.Data); err == nil {
			d.rules = append(d.rules, r)
		}
	case unix.RTM_NEWNEIGH:
		var n rtnetlink.NeighMessage
		if err = n.UnmarshalBinary(m.Data); err == nil {
			d.neighs = append(d.neighs, n)
		}
	case unix.RTM_NEWNEXTHOP:
		var o nexthopObject
		if o, err = parseNexthop(m.Data); err == nil {
			if d.nexthops == nil {
				d.nexthops = make(map[uint32]nexthopObject)
			}
			d.nexthops[o.id] = o
		}
	}
	if err != nil {
		err = fmt.Errorf("netstate: decoding message type %d: %w", m.Header.Type, err)
	}
	return err
}

// recoverDecode, deferred, turns a panic of a decoder of message m into an
// error in *err.
func recoverDecode(m netlink.Message, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("netstate: decoding message type %d: panic: %v", m.Header.Type, r)
	}
}

// decodeRoute decodes route message m into r, as decode does the others.
func decodeRoute(m netlink.Message, r *rtnetlink.RouteMessage) (err error) {
	defer recoverDecode(m, &err)
	if err = r.UnmarshalBinary(m.Data); err != nil {
		err = fmt.Errorf("netstate: decoding message type %d: %w", m.Header.Type, err)
	}
	return err
}

// parseDump builds a Snapshot, taken at taken, from the messages of link,
// address, route, rule, neighbour and nexthop object dumps. Messages that do not decode are skipped and
// reported in the error, which is nil when all decoded; the snapshot is never nil.
func parseDump(msgs []netlink.Message, taken time.Time) (*Snapshot, error) {
	s, _, err := buildSnapshot(msgs, taken)
	return s, err
}

// buildSnapshot is parseDump that also returns what route events are
// applied with: the keys of more than one kernel route in the dump (see
// sharedAliases) and the nexthop objects.
func buildSnapshot(msgs []netlink.Message, taken time.Time) (*Snapshot, routeIndex, error) {
	d, err := decodeDump(msgs)
	s, idx, rerr := d.snapshot(taken)
	return s, idx, errors.Join(err, rerr)
}

// routeIndex is what a dump tells, besides its snapshot, that route events
// are applied with (see routeevents_linux.go).
type routeIndex struct {
	shared   map[aliasKey]bool // the keys of more than one kernel route (see sharedAliases); nil on most hosts
	nexthops *nexthopIndex     // the nexthop objects, their next hops, and those the routes use
}

// decodeDump decodes the messages of a dump but for the routes (see
// dumpMessages). Messages that do not decode are skipped and reported in the
// error, which is nil when all decoded.
func decodeDump(msgs []netlink.Message) (*dumpMessages, error) {
	var (
		d    dumpMessages
		errs []error
	)
	n := 0
	for _, m := range msgs {
		if m.Header.Type == unix.RTM_NEWROUTE {
			n++
		}
	}
	d.routes = make([]netlink.Message, 0, n)
	for _, m := range msgs {
		if err := d.decode(m); err != nil {
			errs = append(errs, err)
		}
	}
	return &d, errors.Join(errs...)
}

// snapshot builds the Snapshot of the decoded messages, and finds the keys of
// more than one kernel route (see sharedAliases) and the next hops of the
// nexthop objects. Route messages that do not decode are skipped and
// reported in the error.
func (d *dumpMessages) snapshot(taken time.Time) (*Snapshot, routeIndex, error) {
	s := &Snapshot{Taken: taken}
	for _, l := range d.links {
		s.Links = append(s.Links, linkOf(l))
	}
	slices.SortFunc(s.Links, func(a, b Link) int { return cmp.Compare(a.Index, b.Index) })
	s.Links = slices.CompactFunc(s.Links, func(a, b Link) bool { return a.Index == b.Index })
	for _, m := range d.addrs {
		if a, ok := s.addrOf(m); ok {
			s.Addrs = append(s.Addrs, a)
		}
	}
	slices.SortFunc(s.Addrs, func(a, b Addr) int {
		return cmp.Or(cmp.Compare(a.Index, b.Index), a.IP.Compare(b.IP))
	})
	for _, m := range d.rules {
		if r, ok := ruleOf(m); ok {
			s.Rules = append(s.Rules, r)
		}
	}
	nhs := newNexthopIndex(d.nexthops)
	shared, err := s.addRoutes(d.routes, nhs)
	slices.SortFunc(s.Routes, compareRoutes)
	s.Gateway4, s.Gateway6 = s.defaultGateway(false), s.defaultGateway(true)
	s.Neighbors = s.routerNeighbors(d.neighs)
	return s, routeIndex{shared: shared, nexthops: nhs}, err
}

// addRoutes sets s.Routes to the routes of the route messages msgs, of the
// tables s's rules look up, in their order, and finds the keys of more than
// one kernel route. A route of a nexthop object that shows no next hop gets
// the object's, from nhs; one of an object nhs lacks (made while the dump
// ran: its event makes the host be dumped again) keeps none. The objects the
// routes kept name are marked used in nhs. Each message is
// decoded only as it is converted, into the same RouteMessage: a full table
// is never held decoded. Messages that do not decode are skipped and
// reported in the error.
func (s *Snapshot) addRoutes(msgs []netlink.Message, nhs *nexthopIndex) (map[aliasKey]bool, error) {
	var (
		tables = s.lookupTables()
		shared sharedAliases
		errs   []error
		r      rtnetlink.RouteMessage
	)
	// Room for one route a message (each next hop of a multipath route is
	// one more); clipped below when the routes left out (the local table,
	// the tables no rule looks up) made much of it unused.
	s.Routes = make([]Route, 0, len(msgs))
	for _, m := range msgs {
		r = rtnetlink.RouteMessage{} // UnmarshalBinary keeps the attributes of a message without any
		if err := decodeRoute(m, &r); err != nil {
			errs = append(errs, err)
			continue
		}
		from := routeFrom(m.Data)
		hops, _ := nhs.of(m.Data, &r)
		if shared.add(&r, from, tables) {
			nhs.use(m.Data)
		}
		s.Routes = s.appendRoutes(s.Routes, r, from, hops, tables)
	}
	switch {
	case len(s.Routes) == 0:
		s.Routes = nil
	case len(s.Routes) < cap(s.Routes)/2:
		s.Routes = slices.Clone(s.Routes)
	}
	return shared.keys, errors.Join(errs...)
}

func linkOf(m rtnetlink.LinkMessage) Link {
	l := Link{
		Index:    int(m.Index),
		Up:       m.Flags&unix.IFF_UP != 0,
		Running:  m.Flags&unix.IFF_RUNNING != 0,
		Loopback: m.Flags&unix.IFF_LOOPBACK != 0,
	}
	if a := m.Attributes; a != nil {
		l.Name, l.MTU = a.Name, int(a.MTU)
	}
	return l
}

// zoneFor returns the zone of a link-local address on interface index: its name,
// or the index in decimal if the link is unknown.
func (s *Snapshot) zoneFor(index int) string {
	if l, ok := s.Link(index); ok && l.Name != "" {
		return l.Name
	}
	return strconv.Itoa(index)
}

// addrOf converts an address message; ok is false for loopback interfaces and
// messages without a usable address.
func (s *Snapshot) addrOf(m rtnetlink.AddressMessage) (Addr, bool) {
	a := m.Attributes
	if a == nil {
		return Addr{}, false
	}
	l, known := s.Link(int(m.Index))
	if known && l.Loopback {
		return Addr{}, false
	}
	raw := a.Address
	if a.Local != nil {
		raw = a.Local // IFA_ADDRESS is the peer on point-to-point links (IPv6 too: PPP)
	}
	ip, ok := netipAddr(raw)
	if !ok || ip.Is4() != (m.Family == unix.AF_INET) || int(m.PrefixLength) > ip.BitLen() {
		return Addr{}, false
	}
	out := Addr{
		Bits:      int(m.PrefixLength),
		Index:     int(m.Index),
		Interface: l.Name,
		Flags:     addrFlags(uint32(m.Flags)|a.Flags, ip.Is6()),
	}
	if ip.Is6() && ip.IsLinkLocalUnicast() {
		ip = ip.WithZone(s.zoneFor(out.Index))
	}
	out.IP = ip
	out.PreferredLifetime, out.ValidLifetime = lifetime(a.CacheInfo.Preferred), lifetime(a.CacheInfo.Valid)
	if a.CacheInfo.Valid == 0 { // no IFA_CACHEINFO: the address does not expire
		out.PreferredLifetime, out.ValidLifetime = Forever, Forever
	}
	return out, true
}

func addrFlags(f uint32, is6 bool) AddrFlags {
	var out AddrFlags
	// An optimistic address (RFC 4429) is tentative too, and usable, but a
	// source of last resort: deprecated for source selection (RFC 4429
	// section 3.3, and Linux unless use_optimistic).
	if f&(unix.IFA_F_DEPRECATED|unix.IFA_F_OPTIMISTIC) != 0 {
		out |= Deprecated
	}
	if f&unix.IFA_F_TENTATIVE != 0 && f&unix.IFA_F_OPTIMISTIC == 0 {
		out |= Tentative
	}
	if is6 && f&unix.IFA_F_TEMPORARY != 0 { // IFA_F_SECONDARY on IPv4
		out |= Temporary
	}
	if f&unix.IFA_F_DADFAILED != 0 {
		out |= DADFailed
	}
	return out
}

func lifetime(sec uint32) time.Duration {
	if sec == infinityLifetime {
		return Forever
	}
	return time.Duration(sec) * time.Second
}
