package netstate

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// routeFor implements RouteFor with RTM_GETROUTE. The kernel does not check that
// the source of a lookup is local (IPv6 answers as if it were; IPv4 says "network
// unreachable"), so the source is checked first: against cur, and when cur does
// not know it, by asking the kernel whether it is a local address.
func (b *linuxBackend) routeFor(ctx context.Context, cur *Snapshot, src, dst netip.Addr) (Decision, error) {
	src, dst = src.Unmap(), dst.Unmap()
	fail := func(k RouteErrorKind, errno syscall.Errno) (Decision, error) {
		return Decision{}, &RouteError{Src: src, Dst: dst, Kind: k, Errno: errno}
	}
	if !dst.IsValid() || dst.IsUnspecified() {
		return fail(NoRoute, 0)
	}
	oif, ok := cur.zoneIndex(dst)
	if !ok {
		return fail(NoRoute, unix.ENODEV)
	}
	if hasSrc(src) {
		index, err := b.checkSource(ctx, cur, src, dst)
		if err != nil {
			return Decision{}, err
		}
		if oif == 0 && src.IsLinkLocalUnicast() && dst.IsLinkLocalUnicast() {
			oif = index
		}
	}
	m, err := b.getRoute(src, dst, oif)
	if err != nil {
		return Decision{}, b.kernelError(src, dst, err)
	}
	switch routeType(m.Type) {
	case Unreachable:
		return fail(UnreachableErr, 0)
	case Prohibit:
		return fail(ProhibitedErr, 0)
	case Blackhole:
		return fail(BlackholeErr, 0)
	case Throw:
		return fail(NoRoute, 0)
	}
	return b.decision(cur, src, m), nil
}

// checkSource returns the interface index of src, or a BadSource error if src is
// not a usable address of dst's family on this host.
func (b *linuxBackend) checkSource(ctx context.Context, cur *Snapshot, src, dst netip.Addr) (int, error) {
	bad := &RouteError{Src: src, Dst: dst, Kind: BadSource, Errno: unix.EADDRNOTAVAIL}
	if src.Is6() != dst.Is6() {
		return 0, bad
	}
	if a, ok := cur.Addr(src); ok {
		if !a.Usable() {
			return 0, bad
		}
		return a.Index, nil
	}
	// Not in the snapshot (yet): ask the kernel, which routes a local address
	// through its local table.
	oif, _ := cur.zoneIndex(src)
	if !b.isLocal(ctx, src, oif) {
		return 0, bad
	}
	return oif, nil
}

// isLocal reports whether the kernel routes src through its local table, that
// is whether src is a usable local address now. For IPv6 it asks again, for up
// to newSourceWait, while the answer is no: the address may have just been
// added. Nothing is remembered between calls.
func (b *linuxBackend) isLocal(ctx context.Context, src netip.Addr, oif int) bool {
	local := func() bool {
		m, err := b.getRoute(netip.Addr{}, src, oif)
		return err == nil && m.Type == unix.RTN_LOCAL
	}
	if !src.Is6() {
		return local()
	}
	return waitUntil(ctx, newSourceWait, local)
}

// getRoute sends RTM_GETROUTE for dst, with RTA_SRC when src is set and RTA_OIF
// when oif is not 0, and decodes the answer.
func (b *linuxBackend) getRoute(src, dst netip.Addr, oif int) (rtnetlink.RouteMessage, error) {
	req := make([]byte, unix.SizeofRtMsg)
	req[0] = unix.AF_INET
	if dst.Is6() {
		req[0] = unix.AF_INET6
	}
	req[1] = uint8(dst.BitLen())
	ae := netlink.NewAttributeEncoder()
	ae.Bytes(unix.RTA_DST, dst.AsSlice())
	if hasSrc(src) {
		req[2] = uint8(src.BitLen())
		ae.Bytes(unix.RTA_SRC, src.AsSlice())
	}
	if oif != 0 {
		ae.Uint32(unix.RTA_OIF, uint32(oif))
	}
	attrs, err := ae.Encode()
	if err != nil {
		return rtnetlink.RouteMessage{}, err
	}
	msgs, err := b.queryc.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETROUTE, Flags: netlink.Request},
		Data:   append(req, attrs...),
	})
	if err != nil {
		return rtnetlink.RouteMessage{}, err
	}
	var m rtnetlink.RouteMessage
	if len(msgs) == 0 || msgs[0].Header.Type != unix.RTM_NEWROUTE {
		return m, errors.New("netstate: no route message in the kernel's answer")
	}
	return m, m.UnmarshalBinary(msgs[0].Data)
}

// kernelError maps the kernel's refusal to a *RouteError; other failures (the
// netlink socket's own, such as EBADF once the Monitor is closed) become a
// *net.OpError.
func (b *linuxBackend) kernelError(src, dst netip.Addr, err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		if kind, ok := kindOfErrno(errno); ok {
			return &RouteError{Src: src, Dst: dst, Kind: kind, Errno: errno}
		}
	}
	return &net.OpError{Op: "route", Net: "ip", Source: ipAddr(src), Addr: ipAddr(dst), Err: err}
}

// decision converts the kernel's answer.
func (b *linuxBackend) decision(cur *Snapshot, src netip.Addr, m rtnetlink.RouteMessage) Decision {
	a := m.Attributes
	d := Decision{Index: int(a.OutIface)}
	d.Interface = b.linkName(cur, d.Index)
	zone := func(ip netip.Addr) netip.Addr {
		if ip.Is6() && ip.IsLinkLocalUnicast() && ip.Zone() == "" && d.Interface != "" {
			return ip.WithZone(d.Interface)
		}
		return ip
	}
	gw := a.Gateway
	if gw == nil && a.Via != nil {
		gw = a.Via.Addr
	}
	if ip, ok := netipAddr(gw); ok {
		d.Gateway = zone(ip)
	}
	d.Src = src
	if !hasSrc(src) {
		if ip, ok := netipAddr(a.Src); ok {
			d.Src = ip
		}
	}
	d.Src = zone(d.Src)
	return d
}

// linkName names interface index: from cur, else by asking the kernel (the
// interface may be newer than the snapshot). It returns "" if neither knows it.
func (b *linuxBackend) linkName(cur *Snapshot, index int) string {
	if l, ok := cur.Link(index); ok || index == 0 {
		return l.Name
	}
	req, err := (&rtnetlink.LinkMessage{Index: uint32(index)}).MarshalBinary()
	if err != nil {
		return ""
	}
	msgs, err := b.queryc.Execute(netlink.Message{
		Header: netlink.Header{Type: unix.RTM_GETLINK, Flags: netlink.Request},
		Data:   req,
	})
	if err != nil || len(msgs) == 0 {
		return ""
	}
	var l rtnetlink.LinkMessage
	if l.UnmarshalBinary(msgs[0].Data) != nil || l.Attributes == nil {
		return ""
	}
	return l.Attributes.Name
}
