package dnsstub

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/internal/svcb"
)

// ednsSize is the UDP payload size the client advertises with EDNS0: the
// DNS flag day 2020 value, which avoids IP fragmentation.
const ednsSize = 1232

// maxChain bounds the CNAME and AliasMode chains followed.
const maxChain = 8

// Client sends queries to the servers of a Config. The zero value is not
// usable: Config must be set. A Client is safe for concurrent use and starts
// no goroutines.
type Client struct {
	// Config says which servers to ask and how long to wait.
	Config *Config
	// Dial connects to a server, as net.Resolver.Dial does: network is "udp"
	// or "tcp", address the server's "host:port". A returned net.Conn that is
	// also a net.PacketConn is spoken to datagram by datagram, any other with
	// the two-byte length prefix of TCP (RFC 1035 section 4.2.2). Nil means a
	// net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	next atomic.Uint32 // the first server, with Config.Rotate
}

// Reply is the answer section of a NOERROR or NXDOMAIN response, by owner
// name (canonical).
type Reply struct {
	// RCode is RCodeSuccess or RCodeNameError.
	RCode dnsmessage.RCode
	// Server is the server that answered.
	Server netip.AddrPort
	// CNAMEs maps an alias to its canonical name.
	CNAMEs map[string]string
	// Addrs are the A and AAAA records.
	Addrs map[string][]netip.Addr
	// Records are the SVCB and HTTPS records that parse (svcb.Parse);
	// malformed ones are left out (RFC 9460 section 2.4.3).
	Records map[string][]svcb.Record
}

// Canonical follows the reply's CNAME chain from name (at most maxChain
// links) and returns its end.
func (r *Reply) Canonical(name string) string {
	name = svcb.CanonicalName(name)
	for range maxChain {
		next, ok := r.CNAMEs[name]
		if !ok {
			break
		}
		name = next
	}
	return name
}

// Exchange asks the servers for name's records of type typ and returns the
// first NOERROR or NXDOMAIN reply. Each server is tried in turn, the whole
// list Config.Attempts times, each try waiting up to Config.Timeout (less if
// ctx ends sooner); a truncated UDP reply is asked again over TCP; SERVFAIL,
// REFUSED and the like move on to the next server. name is absolute (no
// search list applies). The error is a *net.DNSError.
func (c *Client) Exchange(ctx context.Context, name string, typ dnsmessage.Type) (*Reply, error) {
	name = svcb.CanonicalName(name)
	q, err := dnsmessage.NewName(name)
	if err != nil {
		return nil, &net.DNSError{Err: "invalid name", Name: name}
	}
	question := dnsmessage.Question{Name: q, Type: typ, Class: dnsmessage.ClassINET}
	servers := c.Config.Servers
	first := 0
	if c.Config.Rotate && len(servers) > 0 {
		first = int((c.next.Add(1) - 1) % uint32(len(servers))) // in uint32: an int is 32 bits on 386 and arm
	}
	var lastErr error = &net.DNSError{Err: "no DNS servers", Name: name}
	for range max(c.Config.Attempts, 1) {
		for i := range servers {
			server := servers[(first+i)%len(servers)]
			r, err := c.try(ctx, question, server)
			if err == nil {
				return r, nil
			}
			lastErr = err
			if ctx.Err() != nil {
				return nil, lastErr
			}
		}
	}
	return nil, lastErr
}

// try asks one server once: over UDP, then TCP if the reply is truncated
// (over TCP alone with Config.UseTCP).
func (c *Client) try(ctx context.Context, q dnsmessage.Question, server netip.AddrPort) (*Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, max(c.Config.Timeout, time.Millisecond))
	defer cancel()
	networks := []string{"udp", "tcp"}
	if c.Config.UseTCP {
		networks = networks[1:]
	}
	var err error
	for _, network := range networks {
		var msg []byte
		if msg, err = c.roundTrip(ctx, network, q, server); err != nil {
			break
		}
		var r *Reply
		var truncated bool
		r, truncated, err = parseReply(msg, q)
		if err == nil && truncated {
			if network == "udp" {
				continue // again over TCP
			}
			err = errTruncatedTCP // the server fails: the next one is asked
		}
		if err == nil {
			r.Server = server
			return r, nil
		}
		break
	}
	return nil, dnsError(err, q, server)
}

// dnsError turns a failed try into a *net.DNSError.
func dnsError(err error, q dnsmessage.Question, server netip.AddrPort) *net.DNSError {
	e := &net.DNSError{Err: err.Error(), Name: q.Name.String(), Server: server.String(), IsTemporary: true}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		e.Err, e.IsTimeout = "i/o timeout", true
	}
	return e
}

// roundTrip sends one query and returns the reply with its ID and question.
func (c *Client) roundTrip(ctx context.Context, network string, q dnsmessage.Question, server netip.AddrPort) ([]byte, error) {
	dial := c.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	conn, err := dial(ctx, network, server.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	id := uint16(rand.Uint32())
	query, err := newQuery(id, q)
	if err != nil {
		return nil, err
	}
	var msg []byte
	if _, ok := conn.(net.PacketConn); ok {
		msg, err = packetRoundTrip(conn, id, q, query)
	} else {
		msg, err = streamRoundTrip(conn, id, q, query)
	}
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return msg, err
}

// newQuery builds a recursive query for q with an EDNS0 OPT record.
func newQuery(id uint16, q dnsmessage.Question) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 64), dnsmessage.Header{ID: id, RecursionDesired: true})
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAdditionals(); err != nil {
		return nil, err
	}
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(ednsSize, dnsmessage.RCodeSuccess, false); err != nil {
		return nil, err
	}
	if err := b.OPTResource(opt, dnsmessage.OPTResource{}); err != nil {
		return nil, err
	}
	return b.Finish()
}

// errMismatch is a reply to another query (another ID or question).
var errMismatch = errors.New("dns: reply to another query")

// errTruncatedTCP is the error of a server whose reply over TCP is truncated
// too: there is no larger way to ask it.
var errTruncatedTCP = errors.New("dns: truncated reply over TCP")

// packetRoundTrip writes the query as one datagram and reads datagrams until
// one answers it; others (late replies to earlier tries, spoofs) are dropped.
func packetRoundTrip(conn net.Conn, id uint16, q dnsmessage.Question, query []byte) ([]byte, error) {
	if _, err := conn.Write(query); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		if matches(buf[:n], id, q) {
			return buf[:n], nil
		}
	}
}

// streamRoundTrip writes the query with its length prefix and reads one
// reply the same way.
func streamRoundTrip(conn net.Conn, id uint16, q dnsmessage.Question, query []byte) ([]byte, error) {
	out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(query)), uint16(len(query)))
	if _, err := conn.Write(append(out, query...)); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(conn, l[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(conn, msg); err != nil {
		return nil, err
	}
	if !matches(msg, id, q) {
		return nil, errMismatch
	}
	return msg, nil
}

// matches reports whether msg is a response with the query's ID and its one
// question (names compared without regard to ASCII case).
func matches(msg []byte, id uint16, q dnsmessage.Question) bool {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || !h.Response || h.ID != id {
		return false
	}
	got, err := p.Question()
	if err != nil {
		return false
	}
	return got.Type == q.Type && got.Class == q.Class && strings.EqualFold(got.Name.String(), q.Name.String())
}

// parseReply reads a response: whether it is truncated, and its answer
// section when the RCode is NOERROR or NXDOMAIN.
func parseReply(msg []byte, q dnsmessage.Question) (*Reply, bool, error) {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		return nil, false, err
	}
	if h.Truncated {
		return nil, true, nil
	}
	if h.RCode != dnsmessage.RCodeSuccess && h.RCode != dnsmessage.RCodeNameError {
		return nil, false, errors.New("server answered " + strings.TrimPrefix(h.RCode.String(), "RCode"))
	}
	if err := p.SkipAllQuestions(); err != nil {
		return nil, false, err
	}
	r := &Reply{RCode: h.RCode, CNAMEs: map[string]string{}, Addrs: map[string][]netip.Addr{},
		Records: map[string][]svcb.Record{}}
	for {
		rh, err := p.AnswerHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return r, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		if err := r.add(&p, rh, q.Type); err != nil {
			return nil, false, err
		}
	}
}

// add reads one answer record of a reply to a query of type qt into r. A
// record of another class, or of another type than qt or CNAME, is skipped,
// as is an SVCB or HTTPS record that does not parse.
func (r *Reply) add(p *dnsmessage.Parser, h dnsmessage.ResourceHeader, qt dnsmessage.Type) error {
	owner := svcb.CanonicalName(h.Name.String())
	if h.Class != dnsmessage.ClassINET || (h.Type != qt && h.Type != dnsmessage.TypeCNAME) {
		return p.SkipAnswer()
	}
	switch h.Type {
	case dnsmessage.TypeA:
		a, err := p.AResource()
		if err != nil {
			return err
		}
		r.Addrs[owner] = append(r.Addrs[owner], netip.AddrFrom4(a.A))
	case dnsmessage.TypeAAAA:
		a, err := p.AAAAResource()
		if err != nil {
			return err
		}
		r.Addrs[owner] = append(r.Addrs[owner], netip.AddrFrom16(a.AAAA).Unmap())
	case dnsmessage.TypeCNAME:
		c, err := p.CNAMEResource()
		if err != nil {
			return err
		}
		r.CNAMEs[owner] = svcb.CanonicalName(c.CNAME.String())
	case dnsmessage.TypeHTTPS, dnsmessage.TypeSVCB:
		var res dnsmessage.SVCBResource
		var err error
		if h.Type == dnsmessage.TypeHTTPS {
			var hr dnsmessage.HTTPSResource
			hr, err = p.HTTPSResource()
			res = hr.SVCBResource
		} else {
			res, err = p.SVCBResource()
		}
		if err != nil {
			return p.SkipAnswer() // malformed: ignored
		}
		if rec, err := svcb.Parse(res); err == nil {
			r.Records[owner] = append(r.Records[owner], rec)
		}
	default:
		return p.SkipAnswer()
	}
	return nil
}
