//go:build lab

package soak_test

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/internal/lab"
)

// flow is one connection attempt or datagram the client sent: TCP SYNs of one
// connection (retransmissions included) or UDP datagrams of one socket count
// once.
type flow struct {
	proto    string // "tcp" or "udp"
	src, dst netip.AddrPort
	ifname   string
	packets  int
}

// sniffer counts what leaves the client's interfaces: TCP SYNs and UDP
// datagrams, read from AF_PACKET sockets (outgoing frames only).
type sniffer struct {
	mu    sync.Mutex
	flows map[[2]netip.AddrPort]*flow
	fds   []int
	wg    sync.WaitGroup
	done  atomic.Bool
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// sniff starts counting on the named interfaces; stop ends it.
func sniff(t *testing.T, ifnames ...string) *sniffer {
	t.Helper()
	s := &sniffer{flows: make(map[[2]netip.AddrPort]*flow)}
	for _, name := range ifnames {
		ifi, err := net.InterfaceByName(name)
		if err != nil {
			t.Fatal(err)
		}
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			t.Skipf("no AF_PACKET socket: %v", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			t.Fatal(err)
		}
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			t.Fatal(err)
		}
		s.fds = append(s.fds, fd)
		s.wg.Go(func() { s.read(fd, name) })
	}
	return s
}

// read counts the frames of fd until stop (it looks every receive timeout).
func (s *sniffer) read(fd int, ifname string) {
	buf := make([]byte, 65536)
	for !s.done.Load() {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			continue // the receive timeout: look at stopped again
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); !ok || ll.Pkttype != unix.PACKET_OUTGOING {
			continue
		}
		s.packet(buf[:n], ifname)
	}
}

// packet counts one outgoing IP packet (SOCK_DGRAM: no link-layer header).
func (s *sniffer) packet(b []byte, ifname string) {
	var src, dst netip.Addr
	var proto byte
	var l4 []byte
	switch {
	case len(b) >= 20 && b[0]>>4 == 4:
		ihl := int(b[0]&0xf) * 4
		if len(b) < ihl {
			return
		}
		src, dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		proto, l4 = b[9], b[ihl:]
	case len(b) >= 40 && b[0]>>4 == 6:
		src, dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		proto, l4 = b[6], b[40:] // no extension headers in the lab
	default:
		return
	}
	if len(l4) < 8 {
		return
	}
	sp, dp := binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	var name string
	switch {
	case proto == unix.IPPROTO_TCP && len(l4) >= 14 && l4[13]&0x12 == 0x02: // SYN without ACK
		name = "tcp"
	case proto == unix.IPPROTO_UDP:
		name = "udp"
	default:
		return
	}
	k := [2]netip.AddrPort{netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flows[k]
	if f == nil {
		f = &flow{proto: name, src: k[0], dst: k[1], ifname: ifname}
		s.flows[k] = f
	}
	f.packets++
}

func (s *sniffer) stop() []flow {
	s.done.Store(true)
	s.wg.Wait()
	for _, fd := range s.fds {
		unix.Close(fd)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []flow
	for _, f := range s.flows {
		out = append(out, *f)
	}
	return out
}

// TestQuietZeroValue checks what the zero PairDialer sends on a multi-homed
// host: one TCP dial and one UDP dial (one datagram) to the lab server, then 25 s
// idle. At most one connection more per source than the dial made, all to the
// dialed port of the dialed server; nothing to the UDP port but the program's
// datagram; nothing to anything else (the routers included). It runs first in
// this package, so the default Selector is fresh.
func TestQuietZeroValue(t *testing.T) {
	l := lab.Current(t)
	srv := l.Server()
	sn := sniff(t, l.Uplink(0).Interface, l.Uplink(1).Interface)
	pd := &dialer.PairDialer{Resolver: l.Resolver(), Timeout: 5 * time.Second}
	ctx := context.Background()
	c, err := pd.DialContext(ctx, "tcp", net.JoinHostPort(srv.Name, strconv.Itoa(int(srv.Port))))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	const udpPort = 5999
	u, err := pd.DialContext(ctx, "udp", net.JoinHostPort(srv.Name, strconv.Itoa(udpPort)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Write([]byte("getapr quiet test")); err != nil {
		t.Fatal(err)
	}
	u.Close()
	time.Sleep(25 * time.Second)
	flows := sn.stop()

	servers := map[netip.Addr]bool{srv.Open6: true, srv.Open4: true}
	perSource := map[netip.Addr]int{}
	tcp, udp := 0, 0
	for _, f := range flows {
		t.Logf("%s %v -> %v on %s (%d packets)", f.proto, f.src, f.dst, f.ifname, f.packets)
		switch {
		case !servers[f.dst.Addr()]:
			t.Errorf("%s to %v: not the dialed server", f.proto, f.dst)
		case f.proto == "tcp" && f.dst.Port() != srv.Port:
			t.Errorf("TCP to %v: not the dialed port", f.dst)
		case f.proto == "udp" && f.dst.Port() != udpPort:
			t.Errorf("UDP to %v: not the dialed port", f.dst)
		case f.proto == "tcp":
			tcp++
			perSource[f.src.Addr()]++
		case f.proto == "udp":
			udp++
		}
	}
	if udp != 1 {
		t.Errorf("%d UDP flows, want 1 (the program's datagram)", udp)
	}
	// The dial made one connection (its first attempt answers in 20 ms): every
	// other TCP connection is a probe, at most one per source.
	for src, n := range perSource {
		if n > 2 {
			t.Errorf("%d connections from %v, want at most 2 (the dial's and one probe)", n, src)
		}
	}
	if tcp > len(perSource)+1 {
		t.Errorf("%d TCP connections from %d sources, want at most one per source more than the dial's", tcp, len(perSource))
	}
	t.Logf("%d TCP connections from %d sources, %d UDP flows, in 25 s", tcp, len(perSource), udp)
}
