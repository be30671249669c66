package dnsstub

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/internal/svcb"
)

// fakeServer is a DNS server on loopback, UDP and TCP on the same port. Its
// answer function says what to reply to a question; behaviour knobs make it
// truncate UDP replies, fail, stay silent or send a stray reply first.
type fakeServer struct {
	t      *testing.T
	pc     net.PacketConn
	ln     net.Listener
	answer func(q dnsmessage.Question, tcp bool) reply
	wg     sync.WaitGroup
	udp    atomic.Int32 // UDP queries received
	tcp    atomic.Int32 // TCP queries received
}

// reply is what the fake server sends for one question.
type reply struct {
	rcode    dnsmessage.RCode
	silent   bool // send nothing
	truncate bool // over UDP: set TC and leave the answers out
	stray    bool // over UDP: first send a reply with another ID
	answers  []dnsmessage.Resource
}

func newFakeServer(t *testing.T, answer func(q dnsmessage.Question, tcp bool) reply) *fakeServer {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for range 20 { // a free UDP port whose TCP port is free too
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, pc: pc, ln: ln, answer: answer}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	t.Cleanup(func() {
		pc.Close()
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *fakeServer) addr() netip.AddrPort {
	return netip.MustParseAddrPort(s.pc.LocalAddr().String())
}

func (s *fakeServer) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		s.udp.Add(1)
		h, q, ok := s.parse(buf[:n])
		if !ok {
			continue
		}
		r := s.answer(q, false)
		if r.silent {
			continue
		}
		if r.stray {
			s.pc.WriteTo(s.build(h.ID+1, q, reply{}), from)
		}
		if r.truncate {
			r.answers = nil
		}
		msg := s.build(h.ID, q, r)
		if r.truncate {
			msg[2] |= 0x02 // TC
		}
		s.pc.WriteTo(msg, from)
	}
}

func (s *fakeServer) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			var l [2]byte
			if _, err := io.ReadFull(c, l[:]); err != nil {
				return
			}
			msg := make([]byte, binary.BigEndian.Uint16(l[:]))
			if _, err := io.ReadFull(c, msg); err != nil {
				return
			}
			s.tcp.Add(1)
			h, q, ok := s.parse(msg)
			if !ok {
				return
			}
			r := s.answer(q, true)
			if r.silent {
				return
			}
			out := s.build(h.ID, q, r)
			c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
		}()
	}
}

func (s *fakeServer) parse(msg []byte) (dnsmessage.Header, dnsmessage.Question, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return h, dnsmessage.Question{}, false
	}
	q, err := p.Question()
	if err != nil {
		return h, q, false
	}
	return h, q, true
}

func (s *fakeServer) build(id uint16, q dnsmessage.Question, r reply) []byte {
	m := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, Response: true, RCode: r.rcode, RecursionAvailable: true},
		Questions: []dnsmessage.Question{q},
		Answers:   r.answers,
	}
	msg, err := m.Pack()
	if err != nil {
		s.t.Errorf("fake server: pack: %v", err)
	}
	return msg
}

// Resources for the fake server's answers.

func hdr(name string, typ dnsmessage.Type) dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET, TTL: 60}
}

func httpsRR(t *testing.T, owner string, r svcb.Record) dnsmessage.Resource {
	t.Helper()
	res, err := r.Resource()
	if err != nil {
		t.Fatal(err)
	}
	return dnsmessage.Resource{Header: hdr(owner, dnsmessage.TypeHTTPS), Body: &dnsmessage.HTTPSResource{SVCBResource: res}}
}

func cnameRR(owner, target string) dnsmessage.Resource {
	return dnsmessage.Resource{Header: hdr(owner, dnsmessage.TypeCNAME),
		Body: &dnsmessage.CNAMEResource{CNAME: dnsmessage.MustNewName(target)}}
}

func aaaaRR(owner, ip string) dnsmessage.Resource {
	return dnsmessage.Resource{Header: hdr(owner, dnsmessage.TypeAAAA),
		Body: &dnsmessage.AAAAResource{AAAA: netip.MustParseAddr(ip).As16()}}
}

func aRR(owner, ip string) dnsmessage.Resource {
	return dnsmessage.Resource{Header: hdr(owner, dnsmessage.TypeA),
		Body: &dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()}}
}

func client(timeout time.Duration, srv ...netip.AddrPort) *Client {
	return &Client{Config: &Config{Servers: srv, Ndots: 1, Timeout: timeout, Attempts: 1}}
}

func TestExchange(t *testing.T) {
	s := newFakeServer(t, func(q dnsmessage.Question, tcp bool) reply {
		name := strings.ToLower(q.Name.String())
		switch {
		case name == "big.example." && !tcp:
			return reply{truncate: true}
		case name == "big.example.":
			return reply{answers: []dnsmessage.Resource{aaaaRR("big.example.", "2001:db8::1"), aaaaRR("big.example.", "2001:db8::2")}}
		case name == "stray.example.":
			return reply{stray: true, answers: []dnsmessage.Resource{aRR("stray.example.", "192.0.2.7")}}
		case name == "cname.example.":
			return reply{answers: []dnsmessage.Resource{cnameRR("cname.example.", "Real.Example."), aRR("real.example.", "192.0.2.8")}}
		case name == "missing.example.":
			return reply{rcode: dnsmessage.RCodeNameError}
		}
		return reply{}
	})
	c := client(2*time.Second, s.addr())
	ctx := t.Context()

	r, err := c.Exchange(ctx, "BIG.example", dnsmessage.TypeAAAA)
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")}; !cmp.Equal(want, r.Addrs["big.example."], cmpAddrs) {
		t.Errorf("truncated reply: addrs %v, want %v over TCP", r.Addrs, want)
	}
	if s.tcp.Load() != 1 {
		t.Errorf("%d TCP queries, want 1 after the truncated UDP reply", s.tcp.Load())
	}
	if r.Server != s.addr() {
		t.Errorf("Server = %v", r.Server)
	}

	r, err = c.Exchange(ctx, "stray.example.", dnsmessage.TypeA)
	if err != nil || len(r.Addrs["stray.example."]) != 1 {
		t.Errorf("with a stray reply first: %+v, %v", r, err)
	}

	r, err = c.Exchange(ctx, "cname.example.", dnsmessage.TypeA)
	if err != nil || r.Canonical("CNAME.example") != "real.example." || len(r.Addrs[r.Canonical("cname.example.")]) != 1 {
		t.Errorf("CNAME: %+v, %v", r, err)
	}

	r, err = c.Exchange(ctx, "missing.example.", dnsmessage.TypeA)
	if err != nil || r.RCode != dnsmessage.RCodeNameError {
		t.Errorf("NXDOMAIN: %+v, %v; want a reply with RCodeNameError", r, err)
	}
}

func TestExchangeEDNS0(t *testing.T) {
	var got atomic.Bool
	s := newFakeServer(t, func(q dnsmessage.Question, tcp bool) reply { return reply{} })
	// Look at the raw query: the fake server's parse only reads the question.
	c := client(time.Second, s.addr())
	c.Dial = func(ctx context.Context, network, address string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, address)
		if err != nil {
			return nil, err
		}
		return &sniff{UDPConn: conn.(*net.UDPConn), f: func(b []byte) {
			var m dnsmessage.Message
			if m.Unpack(b) == nil && len(m.Additionals) == 1 && m.Additionals[0].Header.Type == dnsmessage.TypeOPT &&
				m.Additionals[0].Header.Class == ednsSize && m.RecursionDesired {
				got.Store(true)
			}
		}}, nil
	}
	if _, err := c.Exchange(t.Context(), "x.example.", dnsmessage.TypeA); err != nil {
		t.Fatal(err)
	}
	if !got.Load() {
		t.Error("query without an EDNS0 OPT record of size 1232, or without RD")
	}
}

// sniff is a UDP conn that shows what is written to f.
type sniff struct {
	*net.UDPConn
	f func([]byte)
}

func (s *sniff) Write(b []byte) (int, error) {
	s.f(b)
	return s.UDPConn.Write(b)
}

func TestExchangeFailover(t *testing.T) {
	fail := newFakeServer(t, func(dnsmessage.Question, bool) reply { return reply{rcode: dnsmessage.RCodeServerFailure} })
	silent := newFakeServer(t, func(dnsmessage.Question, bool) reply { return reply{silent: true} })
	good := newFakeServer(t, func(q dnsmessage.Question, _ bool) reply {
		return reply{answers: []dnsmessage.Resource{aRR(q.Name.String(), "192.0.2.1")}}
	})
	c := client(100*time.Millisecond, fail.addr(), silent.addr(), good.addr())
	r, err := c.Exchange(t.Context(), "a.example.", dnsmessage.TypeA)
	if err != nil || r.Server != good.addr() {
		t.Fatalf("Exchange = %+v, %v; want the third server's answer", r, err)
	}
	if fail.udp.Load() != 1 || silent.udp.Load() != 1 {
		t.Errorf("queries: failing %d, silent %d; want one each", fail.udp.Load(), silent.udp.Load())
	}

	c = client(50*time.Millisecond, silent.addr())
	c.Config.Attempts = 2
	_, err = c.Exchange(t.Context(), "a.example.", dnsmessage.TypeA)
	de, ok := errors.AsType[*net.DNSError](err)
	if !ok || !de.IsTimeout || de.Server != silent.addr().String() {
		t.Errorf("silent server: %v (%#v), want a timeout *net.DNSError naming it", err, de)
	}
	if n := silent.udp.Load(); n != 3 {
		t.Errorf("silent server got %d queries, want 1 + 2 attempts", n)
	}

	c = client(time.Second, fail.addr())
	_, err = c.Exchange(t.Context(), "a.example.", dnsmessage.TypeA)
	if de, ok := errors.AsType[*net.DNSError](err); !ok || de.IsTimeout || !strings.Contains(de.Err, "ServerFailure") {
		t.Errorf("SERVFAIL: %v", err)
	}
}

func TestExchangeRotate(t *testing.T) {
	a := newFakeServer(t, func(dnsmessage.Question, bool) reply { return reply{} })
	b := newFakeServer(t, func(dnsmessage.Question, bool) reply { return reply{} })
	c := client(time.Second, a.addr(), b.addr())
	c.Config.Rotate = true
	for range 4 {
		if _, err := c.Exchange(t.Context(), "x.example.", dnsmessage.TypeA); err != nil {
			t.Fatal(err)
		}
	}
	if a.udp.Load() != 2 || b.udp.Load() != 2 {
		t.Errorf("with rotate: %d and %d queries, want 2 and 2", a.udp.Load(), b.udp.Load())
	}
}

func TestExchangeCanceled(t *testing.T) {
	silent := newFakeServer(t, func(dnsmessage.Question, bool) reply { return reply{silent: true} })
	c := client(time.Hour, silent.addr())
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := c.Exchange(ctx, "a.example.", dnsmessage.TypeA)
	if err == nil {
		t.Fatal("no error after cancel")
	}
}

func TestExchangeUseTCP(t *testing.T) {
	s := newFakeServer(t, func(q dnsmessage.Question, _ bool) reply {
		return reply{answers: []dnsmessage.Resource{aRR(q.Name.String(), "192.0.2.1")}}
	})
	c := client(time.Second, s.addr())
	c.Config.UseTCP = true
	if _, err := c.Exchange(t.Context(), "a.example.", dnsmessage.TypeA); err != nil {
		t.Fatal(err)
	}
	if s.udp.Load() != 0 || s.tcp.Load() != 1 {
		t.Errorf("use-vc: %d UDP, %d TCP queries; want TCP only", s.udp.Load(), s.tcp.Load())
	}
}

// A malformed HTTPS record is left out; the others of the reply are kept.
func TestReplySkipsMalformedRecords(t *testing.T) {
	s := newFakeServer(t, func(q dnsmessage.Question, _ bool) reply {
		bad := dnsmessage.Resource{Header: hdr("svc.example.", dnsmessage.TypeHTTPS),
			Body: &dnsmessage.UnknownResource{Type: dnsmessage.TypeHTTPS, Data: []byte{0, 1, 0, 0, 3, 0, 1, 53}}} // port of one byte
		return reply{answers: []dnsmessage.Resource{bad, httpsRR(t, "svc.example.", svcb.Record{Priority: 2, Target: ".", Port: 8443})}}
	})
	r, err := client(time.Second, s.addr()).Exchange(t.Context(), "svc.example.", dnsmessage.TypeHTTPS)
	if err != nil {
		t.Fatal(err)
	}
	if recs := r.Records["svc.example."]; len(recs) != 1 || recs[0].Port != 8443 {
		t.Errorf("records %+v, want only the well-formed one", recs)
	}
}
