package dnsstub

import (
	"testing"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/internal/svcb"
)

// FuzzParseReply feeds arbitrary messages to the reply parser: it must not
// panic, and what it keeps must be of the kinds asked for.
func FuzzParseReply(f *testing.F) {
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("svc.example."), Type: dnsmessage.TypeHTTPS, Class: dnsmessage.ClassINET}
	rec, _ := svcb.Record{Priority: 1, Target: ".", ALPN: []string{"h2"}, Port: 8443}.Resource()
	for _, answers := range [][]dnsmessage.Resource{
		nil,
		{{Header: hdr("svc.example.", dnsmessage.TypeHTTPS), Body: &dnsmessage.HTTPSResource{SVCBResource: rec}}},
		{cnameRR("svc.example.", "x.example."), aRR("x.example.", "192.0.2.1"), aaaaRR("x.example.", "2001:db8::1")},
	} {
		m := dnsmessage.Message{Header: dnsmessage.Header{ID: 7, Response: true}, Questions: []dnsmessage.Question{q}, Answers: answers}
		msg, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, truncated, err := parseReply(msg, q)
		if err != nil || truncated {
			return
		}
		for owner, addrs := range r.Addrs {
			for _, a := range addrs {
				if !a.IsValid() || owner == "" {
					t.Fatalf("address %v of %q", a, owner)
				}
			}
		}
		for _, recs := range r.Records {
			for _, rec := range recs {
				if rec.Target == "" {
					t.Fatal("record without target")
				}
			}
		}
		_ = r.Canonical("svc.example.")
		_ = matches(msg, 7, q)
	})
}
