//go:build !windows

package probe

import "syscall"

var (
	errRefused     error = syscall.ECONNREFUSED
	errTimedOut    error = syscall.ETIMEDOUT
	errUnreachable       = [...]error{
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EADDRNOTAVAIL,
		syscall.ENETDOWN, syscall.EHOSTDOWN,
	}
)
