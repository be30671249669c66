package main

import (
	"context"
	"errors"
	"net"
	"syscall"
)

// outcomeOf names how an attempt ended: connected, refused, timeout, unreachable,
// canceled or error.
func outcomeOf(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "connected"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.EADDRNOTAVAIL):
		return "unreachable"
	}
	return "error"
}
