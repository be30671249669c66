package sockopt

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func bindToDevice(fd uintptr, ifname string) error {
	if err := unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname); err != nil {
		return os.NewSyscallError("setsockopt SO_BINDTODEVICE", err)
	}
	return nil
}

// bindAddressNoPort sets IP_BIND_ADDRESS_NO_PORT (it applies to IPv6 sockets
// too). Where the option is missing, the bind picks the port as before.
func bindAddressNoPort(fd uintptr) {
	_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
}

func kernelRTT(fd uintptr) (time.Duration, bool) {
	info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil || info.Rtt == 0 {
		return 0, false
	}
	return time.Duration(info.Rtt) * time.Microsecond, true
}
