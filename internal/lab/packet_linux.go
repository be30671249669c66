package lab

import (
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// packetPort is an AF_PACKET socket bound to one interface, reading and writing
// whole frames through the runtime's poller (so Close wakes a blocked read).
type packetPort struct {
	f  *os.File
	rc syscall.RawConn
}

// openPacketPort opens a packet socket on interface ifindex of namespace ns.
func openPacketPort(ns string, ifindex int) (framePort, error) {
	var fd int
	err := inNetNS(ns, func() error {
		var err error
		// Protocol 0 at first: nothing arrives before the socket is bound to the
		// interface.
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return os.NewSyscallError("socket", err)
		}
		if err := setupPacket(fd, ifindex); err != nil {
			unix.Close(fd)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("packet socket on %s/%d: %w", ns, ifindex, err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("packet:%s/%d", ns, ifindex))
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &packetPort{f: f, rc: rc}, nil
}

func setupPacket(fd, ifindex int) error {
	opts := []struct {
		level, opt, val int
		name            string
	}{
		{unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1, "PACKET_VNET_HDR"},
		{unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING"},
		{unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS"},
		{unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8 << 20, "SO_RCVBUFFORCE"},
		{unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8 << 20, "SO_SNDBUFFORCE"},
	}
	for _, o := range opts {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.val); err != nil {
			return os.NewSyscallError("setsockopt "+o.name, err)
		}
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}
	return os.NewSyscallError("bind", unix.Bind(fd, sa))
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (p *packetPort) readFrame(b []byte) (int, time.Time, error) {
	var n, oobn int
	var serr error
	var oob [64]byte
	err := p.rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, serr = unix.Recvmsg(int(fd), b, oob[:], 0)
		return serr != unix.EAGAIN
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	return n, arrival(oob[:oobn], time.Now()), nil
}

// arrival is when the kernel received the frame (SO_TIMESTAMPNS), expressed as
// a time with now's monotonic reading; now itself if the stamp is missing or
// implausible (more than a second old, or in the future).
func arrival(oob []byte, now time.Time) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return now
	}
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_TIMESTAMPNS || len(m.Data) < int(unsafe.Sizeof(unix.Timespec{})) {
			continue
		}
		ts := *(*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
		lag := now.Sub(time.Unix(ts.Unix()))
		if lag >= 0 && lag < time.Second {
			return now.Add(-lag)
		}
	}
	return now
}

func (p *packetPort) writeFrame(b []byte) error {
	var serr error
	err := p.rc.Write(func(fd uintptr) bool {
		_, serr = unix.Write(int(fd), b)
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

func (p *packetPort) Close() error { return p.f.Close() }
