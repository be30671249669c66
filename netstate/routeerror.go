package netstate

import (
	"fmt"
	"net/netip"
	"syscall"
)

// RouteErrorKind says why the kernel would not send a packet.
type RouteErrorKind uint8

// The reasons a route lookup fails.
const (
	NoRoute        RouteErrorKind = iota // no matching route (ENETUNREACH)
	UnreachableErr                       // an unreachable route matched (EHOSTUNREACH)
	ProhibitedErr                        // a prohibit route matched (EACCES)
	BlackholeErr                         // a blackhole route matched (EINVAL)
	BadSource                            // the source is not configured or not usable here (EADDRNOTAVAIL)
)

var routeErrorNames = [...]string{
	NoRoute:        "no route",
	UnreachableErr: "unreachable",
	ProhibitedErr:  "prohibited",
	BlackholeErr:   "blackhole",
	BadSource:      "bad source",
}

// String returns a short description such as "unreachable".
func (k RouteErrorKind) String() string {
	if int(k) < len(routeErrorNames) {
		return routeErrorNames[k]
	}
	return "route error"
}

// RouteError is the error RouteFor returns when the kernel would not send a packet
// from Src to Dst. It unwraps to the errno the kernel gave, if any.
type RouteError struct {
	Src, Dst netip.Addr
	Kind     RouteErrorKind
	Errno    syscall.Errno // 0 if not from the kernel
}

// Error returns "route from SRC to DST: KIND".
func (e *RouteError) Error() string {
	return fmt.Sprintf("route from %v to %v: %v", e.Src, e.Dst, e.Kind)
}

// kindOfErrno maps the errno of a refused route lookup, or of a refused connect
// on a datagram socket (which makes the same lookup), to its kind. ok is false
// for an errno that is no verdict on the route (a closed or exhausted socket:
// EBADF, ENOBUFS, EMFILE, ...): the lookup failed, and says nothing of the path.
func kindOfErrno(errno syscall.Errno) (kind RouteErrorKind, ok bool) {
	switch errno {
	case syscall.ENETUNREACH, syscall.ENETDOWN, syscall.ENODEV:
		return NoRoute, true
	case syscall.EHOSTUNREACH:
		return UnreachableErr, true
	case syscall.EACCES, syscall.EPERM:
		return ProhibitedErr, true
	case syscall.EINVAL: // the source was checked: IPv4 says EINVAL for blackhole
		return BlackholeErr, true
	case syscall.EADDRNOTAVAIL:
		return BadSource, true
	}
	return NoRoute, false
}

// Unwrap returns the kernel's errno, or nil.
func (e *RouteError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}
