package netstate

import (
	"syscall"
	"testing"
)

// TestKindOfErrno checks that the kernel's refusals of a route are verdicts and
// that a failure of the lookup itself (a closed or exhausted socket) is none.
func TestKindOfErrno(t *testing.T) {
	for _, tt := range []struct {
		errno syscall.Errno
		kind  RouteErrorKind
		ok    bool
	}{
		{syscall.ENETUNREACH, NoRoute, true},
		{syscall.EHOSTUNREACH, UnreachableErr, true},
		{syscall.EACCES, ProhibitedErr, true},
		{syscall.EPERM, ProhibitedErr, true},
		{syscall.EINVAL, BlackholeErr, true},
		{syscall.EADDRNOTAVAIL, BadSource, true},
		{syscall.EBADF, 0, false},
		{syscall.ENOBUFS, 0, false},
		{syscall.EMFILE, 0, false},
		{syscall.EINTR, 0, false},
	} {
		kind, ok := kindOfErrno(tt.errno)
		if ok != tt.ok || (ok && kind != tt.kind) {
			t.Errorf("kindOfErrno(%v) = %v, %v; want %v, %v", tt.errno, kind, ok, tt.kind, tt.ok)
		}
	}
}
