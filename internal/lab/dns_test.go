package lab

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/internal/dnsstub"
	"github.com/getapr/getapr/internal/svcb"
)

// query builds a query message.
func query(t testing.TB, id uint16, name string, typ dnsmessage.Type, extra ...dnsmessage.Question) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.StartQuestions())
	qs := append([]dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}}, extra...)
	for _, q := range qs {
		must(b.Question(q))
	}
	msg, err := b.Finish()
	must(err)
	return msg
}

// answer is what a response says, in comparable form.
type answer struct {
	id    uint16
	rcode dnsmessage.RCode
	aa    bool
	addrs []netip.Addr
	soa   bool
}

func parseAnswer(t *testing.T, msg []byte) answer {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(msg); err != nil {
		t.Fatalf("unpack: %v", err)
	}
	if !m.Response {
		t.Error("response without the response bit")
	}
	a := answer{id: m.ID, rcode: m.RCode, aa: m.Authoritative}
	for _, rr := range m.Answers {
		switch b := rr.Body.(type) {
		case *dnsmessage.AResource:
			a.addrs = append(a.addrs, netip.AddrFrom4(b.A))
		case *dnsmessage.AAAAResource:
			a.addrs = append(a.addrs, netip.AddrFrom16(b.AAAA))
		}
	}
	for _, rr := range m.Authorities {
		_, a.soa = rr.Body.(*dnsmessage.SOAResource)
	}
	return a
}

func TestRespond(t *testing.T) {
	p := newPlan("unit")
	z := p.zone(nil)
	s := &p.Server
	for _, tc := range []struct {
		name      string
		qname     string
		typ       dnsmessage.Type
		want      answer
		wantDelay time.Duration
	}{
		{"a", "server.getapr.test.", dnsmessage.TypeA, answer{rcode: dnsmessage.RCodeSuccess, aa: true, addrs: []netip.Addr{s.Open4}}, 0},
		{"aaaa", "server.getapr.test.", dnsmessage.TypeAAAA, answer{aa: true, addrs: []netip.Addr{s.Open6}}, 0},
		{"case-insensitive", "SERVER.GetApr.Test.", dnsmessage.TypeAAAA, answer{aa: true, addrs: []netip.Addr{s.Open6}}, 0},
		{"multi-aaaa-in-order", "multi.getapr.test.", dnsmessage.TypeAAAA, answer{aa: true, addrs: []netip.Addr{s.Drop6, s.Open6}}, 0},
		{"multi-a-in-order", "multi.getapr.test.", dnsmessage.TypeA, answer{aa: true, addrs: []netip.Addr{s.Drop4, s.Open4}}, 0},
		{"slow-aaaa", "slow-aaaa.getapr.test.", dnsmessage.TypeAAAA, answer{aa: true, addrs: []netip.Addr{s.Open6}}, slowAAAADelay},
		{"slow-aaaa-a-fast", "slow-aaaa.getapr.test.", dnsmessage.TypeA, answer{aa: true, addrs: []netip.Addr{s.Open4}}, 0},
		{"no-aaaa", "no-aaaa.getapr.test.", dnsmessage.TypeAAAA, answer{aa: true, soa: true}, 0},
		{"no-aaaa-a", "no-aaaa.getapr.test.", dnsmessage.TypeA, answer{aa: true, addrs: []netip.Addr{s.Open4}}, 0},
		{"other-type", "server.getapr.test.", dnsmessage.TypeMX, answer{aa: true, soa: true}, 0},
		{"nxdomain", "nowhere.getapr.test.", dnsmessage.TypeA, answer{rcode: dnsmessage.RCodeNameError, aa: true, soa: true}, 0},
		{"outside-zone", "example.com.", dnsmessage.TypeA, answer{rcode: dnsmessage.RCodeNameError, soa: true}, 0},
		{"zone-apex", "getapr.test.", dnsmessage.TypeA, answer{aa: true, soa: true}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, delay, err := z.respond(query(t, 4711, tc.qname, tc.typ))
			if err != nil {
				t.Fatal(err)
			}
			got := parseAnswer(t, resp)
			tc.want.id = 4711
			if got.id != tc.want.id || got.rcode != tc.want.rcode || got.aa != tc.want.aa ||
				!slices.Equal(got.addrs, tc.want.addrs) || got.soa != tc.want.soa {
				t.Errorf("answer %+v; want %+v", got, tc.want)
			}
			if delay != tc.wantDelay {
				t.Errorf("delay %v; want %v", delay, tc.wantDelay)
			}
		})
	}
}

func TestRespondMalformed(t *testing.T) {
	p := newPlan("unit")
	z := p.zone(nil)
	q := query(t, 7, "server.getapr.test.", dnsmessage.TypeA)
	two := query(t, 8, "server.getapr.test.", dnsmessage.TypeA,
		dnsmessage.Question{Name: dnsmessage.MustNewName("multi.getapr.test."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	resp, _, _ := z.respond(q)
	notify := append([]byte(nil), q...)
	notify[2] |= 4 << 3 // opcode 4, NOTIFY
	for _, tc := range []struct {
		name   string
		msg    []byte
		rcode  dnsmessage.RCode
		answer bool
	}{
		{"two-questions", two, dnsmessage.RCodeFormatError, true},
		{"no-question", q[:12], dnsmessage.RCodeFormatError, true},
		{"notify", notify, dnsmessage.RCodeNotImplemented, true},
		{"a-response", resp, 0, false},
		{"garbage", []byte{1, 2, 3}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := z.respond(tc.msg)
			if !tc.answer {
				if err == nil {
					t.Fatalf("answered %x", out)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := parseAnswer(t, out); got.rcode != tc.rcode {
				t.Errorf("rcode %v; want %v", got.rcode, tc.rcode)
			}
		})
	}
}

func FuzzRespond(f *testing.F) {
	f.Add(query(f, 1, "server.getapr.test.", dnsmessage.TypeAAAA))
	f.Add(query(f, 2, "nowhere.example.", dnsmessage.TypeA))
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0})
	p := newPlan("fuzz")
	z := p.zone(nil)
	f.Fuzz(func(t *testing.T, msg []byte) {
		resp, _, err := z.respond(msg)
		if err != nil {
			return
		}
		var m dnsmessage.Message
		if err := m.Unpack(resp); err != nil {
			t.Fatalf("unparseable answer %x to %x: %v", resp, msg, err)
		}
		if !m.Response || m.ID != uint16(msg[0])<<8|uint16(msg[1]) {
			t.Fatalf("answer %+v does not match query %x", m.Header, msg)
		}
	})
}

// TestServeDNS runs the server on loopback and asks it with Go's resolver, over
// UDP and over TCP.
func TestServeDNS(t *testing.T) {
	z := &zone{origin: "lab.test.", records: map[string]rrset{
		"both.lab.test.": {a: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, aaaa: []netip.Addr{netip.MustParseAddr("2001:db8::1")}, aaaaDelay: time.Millisecond},
	}}
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	s := serveDNS(z, pc, ln)
	defer s.Close()
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			addr := pc.LocalAddr().String()
			if network == "tcp" {
				addr = ln.Addr().String()
			}
			r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}}
			got, err := r.LookupNetIP(context.Background(), "ip", "both.lab.test")
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				got[i] = got[i].Unmap()
			}
			slices.SortFunc(got, netip.Addr.Compare)
			want := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}
			if !slices.Equal(got, want) {
				t.Errorf("got %v; want %v", got, want)
			}
		})
	}
}

func BenchmarkRespond(b *testing.B) {
	p := newPlan("bench")
	z := p.zone(nil)
	q := query(b, 1, "multi.getapr.test.", dnsmessage.TypeAAAA)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := z.respond(q); err != nil {
			b.Fatal(err)
		}
	}
}

// httpsAnswer returns the HTTPS records of a response, parsed by svcb.
func httpsAnswer(t *testing.T, msg []byte) []svcb.Record {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(msg); err != nil {
		t.Fatalf("unpack: %v", err)
	}
	var out []svcb.Record
	for _, rr := range m.Answers {
		h, ok := rr.Body.(*dnsmessage.HTTPSResource)
		if !ok {
			t.Fatalf("answer %T in an HTTPS response", rr.Body)
		}
		r, err := svcb.Parse(h.SVCBResource)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestRespondHTTPS(t *testing.T) {
	p := newPlan("unit")
	ech := []byte{0, 3, 1, 2, 3}
	z := p.zone(ech)
	s := &p.Server
	h2 := []string{"h2", "http/1.1"}
	hints := svcb.Record{Priority: 1, Target: ".", ALPN: h2, IPv6Hint: []netip.Addr{s.Open6}, IPv4Hint: []netip.Addr{s.Open4}}
	svc := hints
	svc.Port = altTLSPort
	for _, tc := range []struct {
		name string
		want []svcb.Record
	}{
		{"svc", []svcb.Record{svc}},
		{"hints", []svcb.Record{hints}},
		{"alias", []svcb.Record{{Priority: 0, Target: "svc.getapr.test."}}},
		{"prio", []svcb.Record{{Priority: 2, Target: "p2.getapr.test.", ALPN: h2}, {Priority: 1, Target: "p1.getapr.test.", ALPN: h2}}},
		{"h3", []svcb.Record{{Priority: 1, Target: "h3only.getapr.test.", ALPN: []string{"h3"}, NoDefaultALPN: true},
			{Priority: 2, Target: ".", ALPN: h2}}},
		{"ech", []svcb.Record{{Priority: 1, Target: ".", ALPN: h2, ECH: ech}}},
		{"server", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, delay, err := z.respond(query(t, 1, tc.name+".getapr.test.", dnsmessage.TypeHTTPS))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, httpsAnswer(t, resp), cmpopts.EquateComparable(netip.Addr{})); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if delay != 0 {
				t.Errorf("HTTPS answer held back %v", delay)
			}
		})
	}
	for _, tc := range []struct {
		name  string
		typ   dnsmessage.Type
		delay time.Duration
	}{
		{"hints", dnsmessage.TypeA, slowAAAADelay},
		{"hints", dnsmessage.TypeAAAA, slowAAAADelay},
		{"late-aaaa", dnsmessage.TypeA, 0},
		{"late-aaaa", dnsmessage.TypeAAAA, slowAAAADelay},
	} {
		_, delay, err := z.respond(query(t, 1, tc.name+".getapr.test.", tc.typ))
		if err != nil || delay != tc.delay {
			t.Errorf("%s %v: delay %v, %v; want %v", tc.name, tc.typ, delay, err, tc.delay)
		}
	}
}

// TestZoneWithStub asks the lab's DNS server with the project's stub
// resolver: the alias is followed to the ServiceMode record.
func TestZoneWithStub(t *testing.T) {
	p := newPlan("unit")
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0") // the stub asks over UDP only here
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	s := serveDNS(p.zone(nil), pc, ln)
	defer s.Close()
	c := &dnsstub.Client{Config: &dnsstub.Config{Servers: []netip.AddrPort{netip.MustParseAddrPort(pc.LocalAddr().String())},
		Timeout: time.Second, Attempts: 1, Search: []string{"getapr.test."}}}
	got, err := c.LookupHTTPS(t.Context(), "alias", 443)
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != "svc.getapr.test." || len(got.Records) != 1 || got.Records[0].Port != altTLSPort {
		t.Errorf("LookupHTTPS(alias) = %+v; want svc's record with port %d", got, altTLSPort)
	}
}
func TestRespondDNS64(t *testing.T) {
	p := newPlan("unit")
	z := p.zone(nil)
	s := &p.Server
	pref := p.NAT64.Prefix
	synth := func(v4 netip.Addr) netip.Addr { return embed96(pref, v4) }
	wka := []netip.Addr{netip.MustParseAddr("2001:db8:6464::c000:aa"), netip.MustParseAddr("2001:db8:6464::c000:ab")}
	mixed := []netip.Addr{synth(s.Open4), s.Open6}
	for _, tc := range []struct {
		dns64 bool
		qname string
		typ   dnsmessage.Type
		want  []netip.Addr
	}{
		{false, "no-aaaa.getapr.test.", dnsmessage.TypeAAAA, nil},
		{false, "ipv4only.arpa.", dnsmessage.TypeAAAA, nil},
		{false, "ipv4only.arpa.", dnsmessage.TypeA, ipv4OnlyAddrs},
		{false, "nat64-mixed.getapr.test.", dnsmessage.TypeAAAA, mixed},
		{true, "no-aaaa.getapr.test.", dnsmessage.TypeAAAA, []netip.Addr{synth(s.Open4)}},
		{true, "no-aaaa.getapr.test.", dnsmessage.TypeA, []netip.Addr{s.Open4}},
		{true, "ipv4only.arpa.", dnsmessage.TypeAAAA, wka},
		{true, "IPv4Only.Arpa.", dnsmessage.TypeAAAA, wka},
		{true, "multi.getapr.test.", dnsmessage.TypeAAAA, []netip.Addr{s.Drop6, s.Open6}}, // real AAAA: no synthesis
		{true, "nat64-mixed.getapr.test.", dnsmessage.TypeAAAA, mixed},
	} {
		if tc.dns64 {
			z.setDNS64(pref)
		} else {
			z.setDNS64(netip.Prefix{})
		}
		resp, _, err := z.respond(query(t, 1, tc.qname, tc.typ))
		if err != nil {
			t.Fatal(err)
		}
		if got := parseAnswer(t, resp); got.rcode != dnsmessage.RCodeSuccess || !slices.Equal(got.addrs, tc.want) {
			t.Errorf("DNS64 %v: %s %v: %+v; want %v", tc.dns64, tc.qname, tc.typ, got, tc.want)
		}
	}
}
