package netstate

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"
)

// discardPort is the destination port of a route check by connect. A datagram
// connect sends nothing, so the port does not matter, but some systems refuse
// port 0.
const discardPort = 9

// routeByConnect asks the system how a packet from src (invalid or unspecified:
// the system chooses) to dst would leave, by connecting a UDP socket: a datagram
// connect makes the kernel's own route lookup, source-based rules included, and
// sends nothing. It needs neither rtnetlink nor /proc nor any privilege.
//
// A src the kernel will not bind is BadSource; a lookup the kernel refuses is a
// *RouteError of the kind its errno says, carrying it. The egress interface and
// the gateway cannot be learned this way: Decision.Index and Interface are those
// of the source address in cur (of dst's zone for a zoned dst), and Gateway is
// unset. A failure that says nothing about the route (the socket could not be
// made) is a *net.OpError.
func routeByConnect(ctx context.Context, cur *Snapshot, src, dst netip.Addr) (Decision, error) {
	src, dst = src.Unmap(), dst.Unmap()
	fail := func(k RouteErrorKind, errno syscall.Errno) (Decision, error) {
		return Decision{}, &RouteError{Src: src, Dst: dst, Kind: k, Errno: errno}
	}
	if !dst.IsValid() || dst.IsUnspecified() {
		return fail(NoRoute, 0)
	}
	if hasSrc(src) && src.Is6() != dst.Is6() {
		return fail(BadSource, syscall.EADDRNOTAVAIL)
	}
	local, err := connectUDP(cur, src, dst)
	if err != nil && isBindError(err, syscall.EADDRNOTAVAIL) && src.Is6() {
		if _, known := cur.Addr(src); !known {
			// Perhaps added a moment ago and still tentative: see newSourceWait.
			waitUntil(ctx, newSourceWait, func() bool {
				local, err = connectUDP(cur, src, dst)
				return !isBindError(err, syscall.EADDRNOTAVAIL)
			})
		}
	}
	if err != nil {
		return routeError(src, dst, err)
	}
	d := Decision{Src: src}
	if !hasSrc(src) {
		d.Src = local
	}
	if a, ok := cur.Addr(d.Src); ok {
		d.Index, d.Src = a.Index, a.IP
	}
	if i, ok := cur.zoneIndex(dst); ok && i != 0 {
		d.Index = i
	}
	if l, ok := cur.Link(d.Index); ok {
		d.Interface = l.Name
	}
	return d, nil
}

// connectUDP binds src (when set) and connects a UDP socket to dst, and returns
// the local address the kernel gave it. Zones go to the socket as indexes,
// from cur: without rtnetlink the standard library cannot look names up.
func connectUDP(cur *Snapshot, src, dst netip.Addr) (netip.Addr, error) {
	var laddr *net.UDPAddr
	if hasSrc(src) {
		laddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(cur.numericZone(src), 0))
	}
	network := "udp4"
	if dst.Is6() {
		network = "udp6"
	}
	raddr := net.UDPAddrFromAddrPort(netip.AddrPortFrom(cur.numericZone(dst), discardPort))
	c, err := net.DialUDP(network, laddr, raddr)
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// isBindError reports whether err is the bind system call failing with errno.
func isBindError(err error, errno syscall.Errno) bool {
	var se *os.SyscallError
	return errors.As(err, &se) && se.Syscall == "bind" && errors.Is(se.Err, errno)
}

// routeError converts the error of connectUDP: the kernel's refusal to bind or
// to route becomes a *RouteError, anything else a *net.OpError.
func routeError(src, dst netip.Addr, err error) (Decision, error) {
	var se *os.SyscallError
	var errno syscall.Errno
	if errors.As(err, &se) && errors.As(se.Err, &errno) {
		switch se.Syscall {
		case "bind":
			return Decision{}, &RouteError{Src: src, Dst: dst, Kind: BadSource, Errno: errno}
		case "connect":
			if kind, ok := kindOfErrno(errno); ok {
				return Decision{}, &RouteError{Src: src, Dst: dst, Kind: kind, Errno: errno}
			}
		}
	}
	return Decision{}, &net.OpError{Op: "route", Net: "ip", Source: ipAddr(src), Addr: ipAddr(dst), Err: err}
}

// numericZone replaces the zone of ip, when it names an interface s knows, by
// that interface's index.
func (s *Snapshot) numericZone(ip netip.Addr) netip.Addr {
	if i, ok := s.zoneIndex(ip); ok && i != 0 {
		return ip.WithZone(strconv.Itoa(i))
	}
	return ip
}

// newSourceWait bounds how long RouteFor waits for a new IPv6 address to become
// usable. The kernel lists an address added with nodad at once, but adds its
// local route (and clears its tentative flag) from a work queue a moment later:
// a few milliseconds, tens on a loaded machine. A source that a program adds and
// uses at once meets that window.
const newSourceWait = 250 * time.Millisecond

// ipAddr converts to a net.Addr for a *net.OpError; nil for an invalid address.
func ipAddr(ip netip.Addr) net.Addr {
	if !ip.IsValid() {
		return nil
	}
	return &net.IPAddr{IP: ip.AsSlice(), Zone: ip.Zone()}
}

// waitUntil calls cond, pausing between calls (1 ms, doubling up to 32 ms),
// until it returns true, budget has passed or ctx is done. It reports whether
// cond returned true.
func waitUntil(ctx context.Context, budget time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(budget)
	pause := time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().Add(pause).After(deadline) {
			return false
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		pause = min(2*pause, 32*time.Millisecond)
	}
}
