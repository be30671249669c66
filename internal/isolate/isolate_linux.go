package isolate

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// unavailable says why o cannot be made here, or "".
func unavailable(o Options) string {
	if o.NewNetNS && os.Geteuid() != 0 {
		return "a new network namespace needs root"
	}
	if o.NoNetlink && auditArch() == 0 {
		return "no seccomp filter for " + runtime.GOARCH
	}
	return ""
}

// procAttr makes the child in a new network namespace when o asks for one.
func procAttr(o Options) *syscall.SysProcAttr {
	if !o.NewNetNS {
		return nil
	}
	return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
}

// loopbackUp brings the interface "lo" up by ioctl (no rtnetlink needed), and
// waits (up to a second) until ::1 can be bound: the kernel adds it a moment
// after lo comes up. Without IPv6 it returns once lo is up.
func loopbackUp() error {
	if err := linkUp("lo"); err != nil {
		return err
	}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil // no IPv6
		}
		err = unix.Bind(fd, &unix.SockaddrInet6{Addr: [16]byte{15: 1}})
		unix.Close(fd)
		if err == nil {
			return nil
		}
	}
	return errors.New("::1 not bindable after a second")
}

// linkUp sets IFF_UP on interface name.
func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// auditArch returns the seccomp architecture of this binary, 0 where the
// filter below is not known to be right (it reads the low half of the first
// argument at the little-endian offset).
func auditArch() uint32 {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64
	}
	return 0
}

// Offsets in struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16
)

// refuseNetlink installs, on every thread of the process, a seccomp filter
// that fails socket(AF_NETLINK, ...) with EAFNOSUPPORT and allows every other
// system call. It cannot be undone.
func refuseNetlink() error {
	arch := auditArch()
	if arch == 0 {
		return unix.ENOSYS
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	prog := []unix.SockFilter{
		{Code: ld, K: offArch},
		{Code: jeq, K: arch, Jt: 0, Jf: 5},
		{Code: ld, K: offNr},
		{Code: jeq, K: unix.SYS_SOCKET, Jt: 0, Jf: 3},
		{Code: ld, K: offArg0},
		{Code: jeq, K: unix.AF_NETLINK, Jt: 0, Jf: 1},
		{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EAFNOSUPPORT)},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// no_new_privs is per thread: set it on the thread that installs the
	// filter, which TSYNC then copies, with the filter, to every thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return err
	}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
	runtime.KeepAlive(prog)
	if errno != 0 {
		return errno
	}
	return nil
}
