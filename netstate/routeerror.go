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

// Unwrap returns the kernel's errno, or nil.
func (e *RouteError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}
