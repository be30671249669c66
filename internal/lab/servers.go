package lab

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// connServer accepts connections on a listener and runs handle for each on its
// own goroutine. Close stops accepting, closes every open connection, cancels
// the handlers' context and waits for all of them.
type connServer struct {
	ln     net.Listener
	handle func(ctx context.Context, c net.Conn)
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{} // nil once closed
	once   sync.Once
}

func serveConns(ln net.Listener, handle func(ctx context.Context, c net.Conn)) *connServer {
	s := &connServer{ln: ln, handle: handle, conns: map[net.Conn]struct{}{}}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept()
	return s
}

func (s *connServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed, or the listener is broken: either way nothing more comes
		}
		s.mu.Lock()
		if s.conns == nil {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.handle(s.ctx, c)
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Addr is the listener's address.
func (s *connServer) Addr() net.Addr { return s.ln.Addr() }

func (s *connServer) Close() error {
	var err error
	s.once.Do(func() {
		s.cancel()
		err = s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.conns = nil
		s.mu.Unlock()
		s.wg.Wait()
	})
	return err
}

// echoPeer is the peer-echo service: it tells the client the address it sees
// ("ip:port\n", the form of netip.AddrPort) and holds the connection open until
// the client closes it.
func echoPeer(_ context.Context, c net.Conn) {
	if _, err := fmt.Fprintf(c, "%s\n", addrPortOf(c.RemoteAddr())); err != nil {
		return
	}
	_, _ = io.Copy(io.Discard, c)
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// ReadPeer reads the peer-echo server's greeting from r, the address the server
// sees for this connection. It reads byte by byte, so nothing after the line is
// consumed.
func ReadPeer(r io.Reader) (netip.AddrPort, error) {
	var sb strings.Builder
	var b [1]byte
	for sb.Len() < 64 {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return netip.AddrPort{}, fmt.Errorf("lab: reading peer-echo line: %w", err)
		}
		if b[0] == '\n' {
			return netip.ParseAddrPort(sb.String())
		}
		sb.WriteByte(b[0])
	}
	return netip.AddrPort{}, errors.New("lab: peer-echo line too long")
}

// dnsServer serves a zone over UDP and TCP. Delayed answers are sent by
// goroutines of their own, so that a slow AAAA does not hold up the A query
// sent beside it.
type dnsServer struct {
	z    *zone
	pc   net.PacketConn
	tcp  *connServer
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func serveDNS(z *zone, pc net.PacketConn, ln net.Listener) *dnsServer {
	s := &dnsServer{z: z, pc: pc, done: make(chan struct{})}
	s.tcp = serveConns(ln, s.serveTCP)
	s.wg.Add(1)
	go s.serveUDP()
	return s
}

func (s *dnsServer) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		resp, delay, err := s.z.respond(buf[:n])
		if err != nil {
			continue
		}
		if delay <= 0 {
			_, _ = s.pc.WriteTo(resp, from)
			continue
		}
		s.wg.Add(1)
		go s.later(delay, func() { _, _ = s.pc.WriteTo(resp, from) })
	}
}

// later runs send after d, unless the server closes first.
func (s *dnsServer) later(d time.Duration, send func()) {
	defer s.wg.Done()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		send()
	case <-s.done:
	}
}

// serveTCP answers length-prefixed queries (RFC 1035 4.2.2) until the client
// closes the connection.
func (s *dnsServer) serveTCP(ctx context.Context, c net.Conn) {
	r := bufio.NewReader(c)
	for {
		var l [2]byte
		if _, err := io.ReadFull(r, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(r, q); err != nil {
			return
		}
		resp, delay, err := s.z.respond(q)
		if err != nil {
			return
		}
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		msg := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(resp)), uint16(len(resp)))
		if _, err := c.Write(append(msg, resp...)); err != nil {
			return
		}
	}
}

func (s *dnsServer) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = errors.Join(s.pc.Close(), s.tcp.Close())
		s.wg.Wait()
	})
	return err
}
