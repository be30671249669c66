package probe

import (
	"context"
	"errors"
	"net"

	"github.com/getapr/getapr/netstate"
)

// ResultOf classifies the error of one connect attempt:
//
//   - nil is Success;
//   - a refused connection (ECONNREFUSED, a reset in answer to the SYN) is Refused;
//   - context.Canceled is Canceled: the caller gave up, which says nothing;
//   - a timeout (a net.Error whose Timeout is true, context.DeadlineExceeded,
//     ETIMEDOUT) is Timeout;
//   - EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ENETDOWN, EHOSTDOWN (the kernel has no
//     route, or an ICMP error came back) and a *netstate.RouteError are Unreachable;
//   - anything else is OtherError.
func ResultOf(err error) Result {
	var re *netstate.RouteError
	switch {
	case err == nil:
		return Success
	case errors.Is(err, errRefused):
		return Refused
	case errors.Is(err, context.Canceled):
		return Canceled
	case isTimeout(err):
		return Timeout
	case errors.As(err, &re), isUnreachable(err):
		return Unreachable
	}
	return OtherError
}

// isTimeout reports whether err is a timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errTimedOut) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// isUnreachable reports whether err says the destination cannot be reached from the
// source.
func isUnreachable(err error) bool {
	for _, e := range errUnreachable {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
