package dialer_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeDNS is a DNS server on loopback for the tests' names: A and AAAA
// records from a map (NOERROR without answers for a type a name lacks),
// NXDOMAIN for other names, SERVFAIL for the types a name is set to fail.
// Close stops it.
type fakeDNS struct {
	pc       net.PacketConn
	records  map[string][]netip.Addr      // lower-case names with the final dot
	servfail map[string][]dnsmessage.Type // the same names: the types answered SERVFAIL
	drop     []dnsmessage.Type            // the types never answered, for every name
	wg       sync.WaitGroup
}

// newFakeDNS starts a server for records (names without the final dot).
func newFakeDNS(records map[string][]netip.Addr) (*fakeDNS, error) {
	return newFailingDNS(records, nil)
}

// newFailingDNS starts a server for records that answers the queries of the
// types servfail gives for a name (without the final dot) with SERVFAIL.
func newFailingDNS(records map[string][]netip.Addr, servfail map[string][]dnsmessage.Type) (*fakeDNS, error) {
	return newDroppingDNS(records, servfail, nil)
}

// newDroppingDNS is newFailingDNS that, besides, never answers the queries
// of the types drop gives (as a home router's DNS proxy or an old firewall
// that drops HTTPS queries).
func newDroppingDNS(records map[string][]netip.Addr, servfail map[string][]dnsmessage.Type, drop []dnsmessage.Type) (*fakeDNS, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &fakeDNS{pc: pc, records: make(map[string][]netip.Addr), servfail: make(map[string][]dnsmessage.Type), drop: drop}
	for name, addrs := range records {
		s.records[strings.ToLower(name)+"."] = addrs
	}
	for name, types := range servfail {
		s.servfail[strings.ToLower(name)+"."] = types
	}
	s.wg.Go(s.serve)
	return s, nil
}

// Close stops the server and waits for it.
func (s *fakeDNS) Close() {
	s.pc.Close()
	s.wg.Wait()
}

// Resolver returns a pure-Go resolver that asks s only (after /etc/hosts).
func (s *fakeDNS) Resolver() *net.Resolver {
	addr := s.pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func (s *fakeDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp, ok := s.answer(buf[:n]); ok {
			s.pc.WriteTo(resp, from)
		}
	}
}

// answer builds the response to one query.
func (s *fakeDNS) answer(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil || h.Response {
		return nil, false
	}
	q, err := p.Question()
	if err != nil || slices.Contains(s.drop, q.Type) {
		return nil, false
	}
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired}
	name := strings.ToLower(q.Name.String())
	addrs, known := s.records[name]
	switch {
	case slices.Contains(s.servfail[name], q.Type):
		rh.RCode, addrs = dnsmessage.RCodeServerFailure, nil
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil, false
	}
	rr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	for _, a := range addrs {
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			b.AResource(rr, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			b.AAAAResource(rr, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
	}
	resp, err := b.Finish()
	return resp, err == nil
}
