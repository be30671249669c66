package lab

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
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
	z := p.zone()
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
	z := p.zone()
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
	z := p.zone()
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
	z := p.zone()
	q := query(b, 1, "multi.getapr.test.", dnsmessage.TypeAAAA)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := z.respond(q); err != nil {
			b.Fatal(err)
		}
	}
}
