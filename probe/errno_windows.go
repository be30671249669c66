package probe

import "golang.org/x/sys/windows"

var (
	errRefused     error = windows.WSAECONNREFUSED
	errTimedOut    error = windows.WSAETIMEDOUT
	errUnreachable       = [...]error{
		windows.WSAEHOSTUNREACH, windows.WSAENETUNREACH, windows.WSAEADDRNOTAVAIL,
		windows.WSAENETDOWN, windows.WSAEHOSTDOWN,
	}
)
