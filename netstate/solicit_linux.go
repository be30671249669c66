package netstate

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// routerSolicitation is an ICMPv6 Router Solicitation (RFC 4861 section 4.1)
// without options: type 133, code 0, the checksum (the kernel computes it on
// a raw ICMPv6 socket) and four reserved bytes.
var routerSolicitation = []byte{133, 0, 0, 0, 0, 0, 0, 0}

// allRouters is ff02::2, the link-local all-routers multicast address.
var allRouters = [16]byte{0: 0xff, 1: 0x02, 15: 0x02}

// solicitRouters sends one Router Solicitation to ff02::2 on each link of
// indexes, from a raw ICMPv6 socket made in the namespace netns (the calling
// thread's when 0).
func solicitRouters(netns int, indexes []int) error {
	fd, err := rawICMPv6(netns)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	defer unix.Close(fd)
	// A router drops a solicitation whose hop limit is not 255 (RFC 4861
	// section 6.1.1). The socket only sends: it takes no ICMPv6 message in.
	var none unix.ICMPv6Filter
	for i := range none.Data {
		none.Data[i] = ^uint32(0)
	}
	err = errors.Join(
		os.NewSyscallError("setsockopt", unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 255)),
		os.NewSyscallError("setsockopt", unix.SetsockoptICMPv6Filter(fd, unix.SOL_ICMPV6, unix.ICMPV6_FILTER, &none)))
	if err != nil {
		return err
	}
	var errs []error
	for _, i := range indexes {
		// The zone of a link-local multicast destination is the interface
		// the packet leaves by.
		to := &unix.SockaddrInet6{Addr: allRouters, ZoneId: uint32(i)}
		if err := unix.Sendto(fd, routerSolicitation, 0, to); err != nil {
			errs = append(errs, fmt.Errorf("link %d: %w", i, os.NewSyscallError("sendto", err)))
		}
	}
	return errors.Join(errs...)
}

// rawICMPv6 returns a raw ICMPv6 socket made in the namespace netns (the
// calling thread's when 0): a socket stays in the namespace of the thread
// that made it.
func rawICMPv6(netns int) (int, error) {
	open := func() (int, error) {
		return unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	}
	if netns == 0 {
		return open()
	}
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		// A thread that cannot switch back stays locked: it ends with the
		// goroutine instead of serving others in the wrong namespace.
		runtime.LockOSThread()
		self, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- result{-1, err}
			return
		}
		defer unix.Close(self)
		if err := unix.Setns(netns, unix.CLONE_NEWNET); err != nil {
			done <- result{-1, err}
			return
		}
		fd, err := open()
		if unix.Setns(self, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		done <- result{fd, err}
	}()
	r := <-done
	return r.fd, r.err
}
