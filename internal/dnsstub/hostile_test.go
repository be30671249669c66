package dnsstub

// Replies a broken or hostile server sends.

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/internal/svcb"
)

// TestHTTPSIgnoresSVCBTypeAnswer: an HTTPS (type 65) query answered with an
// SVCB (type 64) record of the same owner: that record answers another
// question (RFC 9460 section 9) and is ignored, as any answer of a type not
// asked for; it must not become a service whose target and port are dialed.
func TestHTTPSIgnoresSVCBTypeAnswer(t *testing.T) {
	rec := svcb.Record{Priority: 1, Target: "elsewhere.example.", ALPN: []string{"h2"}, Port: 8443}
	s := newFakeServer(t, func(q dnsmessage.Question, tcp bool) reply {
		res, err := rec.Resource()
		if err != nil {
			t.Error(err)
		}
		rr := dnsmessage.Resource{Header: hdr("svc.example.", dnsmessage.TypeSVCB), Body: &res}
		return reply{answers: []dnsmessage.Resource{rr}}
	})
	svc, err := client(2*time.Second, s.addr()).LookupHTTPS(t.Context(), "svc.example.", 443)
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.Records) != 0 {
		t.Errorf("HTTPS lookup returned an SVCB-type answer as a service: %+v", svc.Records)
	}
}

// TestTruncatedTCPReply: a TCP reply with the TC bit set (reached with
// UseTCP, or after a truncated UDP reply) is that server's failure, not a
// panic (an HTTPS lookup runs on a goroutine of its own: a panic there ends
// the program). No network: the server is one end of a net.Pipe.
func TestTruncatedTCPReply(t *testing.T) {
	c := &Client{
		Config: &Config{Servers: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:53")}, Timeout: 2 * time.Second, Attempts: 1, UseTCP: true},
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveTC(server)
			return client, nil
		},
	}
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("Exchange panicked on a truncated TCP reply: %v", r)
		}
	}()
	if _, err := c.Exchange(context.Background(), "tc.example.", dnsmessage.TypeHTTPS); err == nil {
		t.Errorf("Exchange returned no error for a truncated TCP reply")
	}
}

// serveTC answers one length-prefixed query on c with an empty reply that has
// the TC bit set.
func serveTC(c net.Conn) {
	defer c.Close()
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return
	}
	msg := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, msg); err != nil {
		return
	}
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return
	}
	q, err := p.Question()
	if err != nil {
		return
	}
	out, err := (&dnsmessage.Message{
		Header:    dnsmessage.Header{ID: h.ID, Response: true, Truncated: true},
		Questions: []dnsmessage.Question{q},
	}).Pack()
	if err != nil {
		return
	}
	c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(out))), out...))
}
