package netstate

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// fallbackFiles are the files the fallback reads (tests point them elsewhere).
type fallbackFiles struct {
	sysClassNet string // directory with one entry per interface
	procNetDev  string
	ifInet6     string
}

// systemFiles are the system's own.
func systemFiles() fallbackFiles {
	return fallbackFiles{
		sysClassNet: "/sys/class/net",
		procNetDev:  "/proc/net/dev",
		ifInet6:     "/proc/net/if_inet6",
	}
}

// newFallback returns the backend used when rtnetlink is refused (a seccomp
// filter, or systemd's RestrictAddressFamilies without AF_NETLINK, makes
// socket(AF_NETLINK) fail): a pollBackend reading the host without netlink (see
// readNoNetlink). The standard library's net.Interfaces cannot serve here: on
// Linux it asks rtnetlink too. It logs once why, and what it cannot read.
func newFallback(cfg config, why error) backend {
	files := systemFiles()
	_, missing := readNoNetlink(files)
	cfg.log.Warn("rtnetlink unavailable: polling the interfaces instead (ioctl, /sys, /proc), routes checked by connecting UDP sockets",
		zap.Error(why), zap.Duration("interval", cfg.poll), zap.Strings("unavailable", missing))
	return pollBackend{list: func() (*Snapshot, error) {
		s, _ := readNoNetlink(files)
		return s, nil
	}}
}

// readNoNetlink reads the host without rtnetlink: the interface names from
// /proc/net/dev (else /sys/class/net), each one's index, flags and MTU by ioctl,
// the IPv4 addresses by SIOCGIFCONF and the IPv6 ones from /proc/net/if_inet6.
// What cannot be read is left out and named in missing; the snapshot is never
// nil. It has no routes, rules or gateways, lifetimes are Forever, and
// link-local addresses are zoned with their interface's index (see
// parseIfInet6).
func readNoNetlink(f fallbackFiles) (s *Snapshot, missing []string) {
	s = &Snapshot{Taken: time.Now()}
	fd, err := ioctlSocket()
	if err != nil {
		missing = append(missing, "ioctl socket: "+err.Error())
	} else {
		defer unix.Close(fd)
	}
	v4, err := ifconf(fd)
	if err != nil {
		missing = append(missing, "IPv4 addresses: "+err.Error())
	}
	b, err := os.ReadFile(f.ifInet6)
	if err != nil {
		missing = append(missing, "IPv6 addresses: "+err.Error())
	}
	v6 := parseIfInet6(b)
	names, err := linkNames(f)
	if err != nil {
		missing = append(missing, "interface list: "+err.Error())
	}
	for _, a := range v4 {
		names = append(names, a.name)
	}
	for _, a := range v6 {
		names = append(names, a.name)
	}
	slices.Sort(names)
	for _, name := range slices.Compact(names) {
		if l, ok := linkByIoctl(fd, name); ok {
			s.Links = append(s.Links, l)
		}
	}
	for _, a := range v4 {
		if l, ok := s.linkNamed(a.name); ok && !l.Loopback {
			s.Addrs = append(s.Addrs, Addr{IP: a.ip, Bits: a.bits, Index: l.Index, Interface: l.Name,
				PreferredLifetime: Forever, ValidLifetime: Forever})
		}
	}
	for _, a := range v6 {
		if l, ok := s.Link(a.index); ok && !l.Loopback {
			s.Addrs = append(s.Addrs, a.addr())
		}
	}
	return s, missing
}

// linkNamed returns the link called name.
func (s *Snapshot) linkNamed(name string) (Link, bool) {
	for _, l := range s.Links {
		if l.Name == name {
			return l, true
		}
	}
	return Link{}, false
}

// linkNames lists the interfaces from /proc/net/dev, else /sys/class/net. The
// first shows the process's own network namespace; the second the namespace
// of whoever mounted /sys, which may be another.
func linkNames(f fallbackFiles) ([]string, error) {
	b, err := os.ReadFile(f.procNetDev)
	if err == nil {
		return parseProcNetDev(b), nil
	}
	ents, err2 := os.ReadDir(f.sysClassNet)
	if err2 != nil {
		return nil, errors.Join(err, err2)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

// ioctlSocket opens a socket for the interface ioctls: UDP over IPv4 (the
// family SIOCGIFCONF answers for), else IPv6, else a Unix socket, which still
// answers the per-interface ones.
func ioctlSocket() (int, error) {
	var errs []error
	for _, family := range []int{unix.AF_INET, unix.AF_INET6, unix.AF_UNIX} {
		fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			return fd, nil
		}
		errs = append(errs, err)
	}
	return -1, errors.Join(errs...)
}

// linkByIoctl reads the index, flags and MTU of interface name.
func linkByIoctl(fd int, name string) (Link, bool) {
	if fd < 0 {
		return Link{}, false
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil || unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr) != nil {
		return Link{}, false
	}
	l := Link{Index: int(ifr.Uint32()), Name: name}
	if unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr) == nil {
		flags := ifr.Uint16()
		l.Up = flags&unix.IFF_UP != 0
		l.Running = flags&unix.IFF_RUNNING != 0
		l.Loopback = flags&unix.IFF_LOOPBACK != 0
	}
	if unix.IoctlIfreq(fd, unix.SIOCGIFMTU, ifr) == nil {
		l.MTU = int(ifr.Uint32())
	}
	return l, true
}

// inet4Addr is one IPv4 address SIOCGIFCONF lists.
type inet4Addr struct {
	ip   netip.Addr
	bits int
	name string // the interface's name (without the address's ":label" suffix)
}

// The addresses SIOCGIFCONF reads: the first call's room, and the most the
// room grows to (the kernel fills what fits and says nothing of the rest).
const (
	ifconfEntries    = 1024
	ifconfMaxEntries = 1 << 16
)

// ifconf lists the IPv4 addresses of every interface with SIOCGIFCONF, and
// their prefix lengths with SIOCGIFNETMASK.
func ifconf(fd int) ([]inet4Addr, error) {
	if fd < 0 {
		return nil, errors.New("no socket")
	}
	size := int(unsafe.Sizeof(unix.Ifreq{}))
	var buf []byte
	var n int
	for entries := ifconfEntries; ; entries *= 2 {
		buf = make([]byte, entries*size)
		ifc := struct { // struct ifconf: the pointer's alignment gives C's padding
			len int32
			buf *byte
		}{len: int32(len(buf)), buf: &buf[0]}
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCGIFCONF, uintptr(unsafe.Pointer(&ifc))); errno != 0 {
			return nil, errno
		}
		// A full buffer may have been cut short: read again with more room.
		if n = int(ifc.len); n+size <= len(buf) || entries >= ifconfMaxEntries {
			break
		}
	}
	var out []inet4Addr
	for off := 0; off+size <= n; off += size {
		e := buf[off : off+size]
		label := unix.ByteSliceToString(e[:unix.IFNAMSIZ])
		// struct sockaddr_in after the name: family (2 bytes), port (2), address (4).
		if binary.NativeEndian.Uint16(e[unix.IFNAMSIZ:]) != unix.AF_INET {
			continue
		}
		ip := netip.AddrFrom4([4]byte(e[unix.IFNAMSIZ+4 : unix.IFNAMSIZ+8]))
		name, _, _ := strings.Cut(label, ":")
		out = append(out, inet4Addr{ip: ip, bits: netmaskBits(fd, label, ip), name: name})
	}
	return out, nil
}

// netmaskBits returns the prefix length of the address ip labelled label, 32
// when it cannot be read. The request carries ip: with the label alone, the
// kernel answers for the label's first address, and addresses added without
// a label of their own share the interface's.
func netmaskBits(fd int, label string, ip netip.Addr) int {
	ifr, err := unix.NewIfreq(label)
	if err != nil {
		return 32
	}
	a := ip.As4()
	if ifr.SetInet4Addr(a[:]) != nil || unix.IoctlIfreq(fd, unix.SIOCGIFNETMASK, ifr) != nil {
		return 32
	}
	m, err := ifr.Inet4Addr()
	if err != nil {
		return 32
	}
	return bits.LeadingZeros32(^binary.BigEndian.Uint32(m))
}
