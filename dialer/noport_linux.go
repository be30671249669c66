package dialer

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// bindAddressNoPort sets IP_BIND_ADDRESS_NO_PORT (Linux 4.2+; it applies to
// IPv6 sockets too), so that binding an address with port 0 leaves the port
// to connect. Where the option is missing, the bind picks the port as before.
func bindAddressNoPort(rc syscall.RawConn) {
	rc.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
	})
}
