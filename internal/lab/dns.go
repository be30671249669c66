package lab

import (
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/internal/svcb"
)

// dnsTTL is the TTL of every answer, positive or negative.
const dnsTTL = 60

// rrset is the records of one name.
type rrset struct {
	a, aaaa   []netip.Addr
	https     []svcb.Record // HTTPS records (RFC 9460), in this order
	aDelay    time.Duration // how long the A answer is held back
	aaaaDelay time.Duration // how long the AAAA answer is held back
}

// zone is the lab's authoritative data: names (lower case, with the final dot)
// under origin, and ipv4only.arpa.
type zone struct {
	origin  string
	records map[string]rrset
	dns64   atomic.Pointer[netip.Prefix] // nil: no DNS64
}

// setDNS64 turns DNS64 on with the /96 prefix p, or off (p invalid).
func (z *zone) setDNS64(p netip.Prefix) {
	if !p.IsValid() {
		z.dns64.Store(nil)
		return
	}
	z.dns64.Store(&p)
}

// withDNS64 returns rr as a DNS64 (RFC 6147) would answer it: a name with A
// records and no AAAA gets each A synthesized under the prefix as its AAAA.
func (z *zone) withDNS64(rr rrset) rrset {
	p := z.dns64.Load()
	if p == nil || len(rr.aaaa) > 0 {
		return rr
	}
	for _, a := range rr.a {
		rr.aaaa = append(rr.aaaa, embed96(*p, a))
	}
	return rr
}

// errNoAnswer means a message that gets no answer at all: not a query, or not
// even a DNS header.
var errNoAnswer = errors.New("dns: not a query")

// respond builds the answer to one query and says how long to hold it back. A
// name of the zone gets its A, AAAA or HTTPS records (NOERROR with the zone's
// SOA when it has none of that type; with DNS64 on, AAAA records synthesized
// from its A records instead); any other name gets NXDOMAIN, so that nothing in
// the lab waits for a DNS server that is not there.
func (z *zone) respond(query []byte) (resp []byte, delay time.Duration, err error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, 0, errNoAnswer
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, OpCode: h.OpCode, RecursionDesired: h.RecursionDesired}
	if h.OpCode != 0 {
		rh.RCode = dnsmessage.RCodeNotImplemented
		return finish(dnsmessage.NewBuilder(nil, rh))
	}
	q, err := p.Question()
	if err == nil {
		_, err = p.Question()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			err = nil
		} else if err == nil {
			err = errors.New("more than one question")
		}
	}
	if err != nil {
		rh.RCode = dnsmessage.RCodeFormatError
		return finish(dnsmessage.NewBuilder(nil, rh))
	}
	name := strings.ToLower(q.Name.String())
	rr, found := z.records[name]
	rh.Authoritative = strings.HasSuffix(name, "."+z.origin) || name == z.origin
	rh.RecursionAvailable = true
	if !found && name != z.origin {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, 0, err
	}
	if err := b.Question(q); err != nil {
		return nil, 0, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, 0, err
	}
	n, err := z.answers(&b, q, z.withDNS64(rr))
	if err != nil {
		return nil, 0, err
	}
	switch q.Type {
	case dnsmessage.TypeA:
		delay = rr.aDelay
	case dnsmessage.TypeAAAA:
		delay = rr.aaaaDelay
	}
	if n == 0 {
		if err := z.soa(&b); err != nil {
			return nil, 0, err
		}
	}
	resp, _, err = finish(b)
	return resp, delay, err
}

// answers adds the records of rr that q asks for and returns how many.
func (z *zone) answers(b *dnsmessage.Builder, q dnsmessage.Question, rr rrset) (int, error) {
	if q.Class != dnsmessage.ClassINET {
		return 0, nil
	}
	hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: dnsTTL}
	n := 0
	switch q.Type {
	case dnsmessage.TypeA:
		for _, a := range rr.a {
			if err := b.AResource(hdr, dnsmessage.AResource{A: a.As4()}); err != nil {
				return n, err
			}
			n++
		}
	case dnsmessage.TypeAAAA:
		for _, a := range rr.aaaa {
			if err := b.AAAAResource(hdr, dnsmessage.AAAAResource{AAAA: a.As16()}); err != nil {
				return n, err
			}
			n++
		}
	case dnsmessage.TypeHTTPS:
		for _, r := range rr.https {
			res, err := r.Resource()
			if err != nil {
				return n, err
			}
			if err := b.HTTPSResource(hdr, dnsmessage.HTTPSResource{SVCBResource: res}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// soa adds the zone's SOA to the authority section, which makes a negative
// answer cacheable (RFC 2308).
func (z *zone) soa(b *dnsmessage.Builder) error {
	if err := b.StartAuthorities(); err != nil {
		return err
	}
	origin, err := dnsmessage.NewName(z.origin)
	if err != nil {
		return err
	}
	ns, _ := dnsmessage.NewName("ns." + z.origin)
	mbox, _ := dnsmessage.NewName("hostmaster." + z.origin)
	return b.SOAResource(
		dnsmessage.ResourceHeader{Name: origin, Class: dnsmessage.ClassINET, TTL: dnsTTL},
		dnsmessage.SOAResource{NS: ns, MBox: mbox, Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, MinTTL: dnsTTL})
}

func finish(b dnsmessage.Builder) ([]byte, time.Duration, error) {
	resp, err := b.Finish()
	return resp, 0, err
}
