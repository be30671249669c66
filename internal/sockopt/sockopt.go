// Package sockopt holds the socket options getapr sets on its own sockets: binding a
// socket to the interface that owns its source address, and reading the kernel's
// RTT estimate of an established TCP connection.
package sockopt

import (
	"net"
	"syscall"
	"time"
)

// BindToDevice returns a net.Dialer Control function that binds the socket to the
// named interface before connect, so that the connection leaves by that interface
// whatever the routing table says. On Linux this is SO_BINDTODEVICE, which needs
// CAP_NET_RAW (root) on kernels before 5.7 and is unprivileged since; elsewhere it is
// not supported and the function returns ErrUnsupported. next, if not nil, runs first.
func BindToDevice(ifname string, next func(network, address string, c syscall.RawConn) error) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if next != nil {
			if err := next(network, address, c); err != nil {
				return err
			}
		}
		var serr error
		if err := c.Control(func(fd uintptr) { serr = bindToDevice(fd, ifname) }); err != nil {
			return err
		}
		return serr
	}
}

// KernelRTT returns the kernel's smoothed round-trip time for an established TCP
// connection (TCP_INFO on Linux). ok is false where it is not available.
func KernelRTT(c net.Conn) (rtt time.Duration, ok bool) {
	sc, isSys := c.(syscall.Conn)
	if !isSys {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	if err := raw.Control(func(fd uintptr) { rtt, ok = kernelRTT(fd) }); err != nil {
		return 0, false
	}
	return rtt, ok
}
