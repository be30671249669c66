// Package sockopt holds the socket options getapr sets on its own sockets: binding a
// socket to the interface that owns its source address, leaving the port of a bound
// source to connect, and reading the kernel's RTT estimate of an established TCP
// connection; and Dial, the one connect over a (source, destination) path that the
// dialer's attempts and the prober's connects share.
package sockopt

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// DeviceError is the error of binding a socket to an interface (SO_BINDTODEVICE).
type DeviceError struct {
	Interface string
	Err       error
}

func (e *DeviceError) Error() string { return "bind to device " + e.Interface + ": " + e.Err.Error() }

// Unwrap returns the system's error.
func (e *DeviceError) Unwrap() error { return e.Err }

// Bind sets the options of a connect from a bound source address on c, before the
// connect: SO_BINDTODEVICE to ifname unless it is empty, so that the connection
// leaves by that interface whatever the routing table says (Linux; unprivileged since
// 5.7 on a socket not yet bound to a device, CAP_NET_RAW before; a *DeviceError
// otherwise), then, when noPort, IP_BIND_ADDRESS_NO_PORT (Linux 4.2+, best effort),
// so that a source bound with port 0 gets its port at connect from the whole
// 4-tuple: without it, TIME_WAIT connections exhaust the ports of a busy source.
func Bind(c syscall.RawConn, ifname string, noPort bool) error {
	var err error
	cerr := c.Control(func(fd uintptr) {
		if ifname != "" {
			if err = bindToDevice(fd, ifname); err != nil {
				err = &DeviceError{Interface: ifname, Err: err}
				return
			}
		}
		if noPort {
			bindAddressNoPort(fd)
		}
	})
	return errors.Join(cerr, err)
}

// Refused reports whether err is the system refusing SO_BINDTODEVICE itself (no
// privilege, or not supported here), rather than a failure of the path: the caller
// may then connect without it.
func Refused(err error) bool { return refusal(err) != nil }

// refusal returns the *DeviceError in err when Refused(err), else nil.
func refusal(err error) *DeviceError {
	var de *DeviceError
	if errors.As(err, &de) &&
		(errors.Is(de.Err, syscall.EPERM) || errors.Is(de.Err, syscall.EACCES) || errors.Is(de.Err, errors.ErrUnsupported)) {
		return de
	}
	return nil
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
