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
// on a datagram socket (which makes the same lookup), to its kind.
func kindOfErrno(errno syscall.Errno) RouteErrorKind {
	switch errno {
	case syscall.EHOSTUNREACH:
		return UnreachableErr
	case syscall.EACCES, syscall.EPERM:
		return ProhibitedErr
	case syscall.EINVAL: // the source was checked: IPv4 says EINVAL for blackhole
		return BlackholeErr
	case syscall.EADDRNOTAVAIL:
		return BadSource
	}
	return NoRoute
}

// Unwrap returns the kernel's errno, or nil.
func (e *RouteError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}
