package dnsstub

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/internal/svcb"
)

func TestQueryName(t *testing.T) {
	for _, tc := range []struct {
		port int
		want string
	}{{0, "www.example"}, {443, "www.example"}, {8443, "_8443._https.www.example"}, {80, "_80._https.www.example"}} {
		if got := QueryName("www.example", tc.port); got != tc.want {
			t.Errorf("QueryName(www.example, %d) = %q, want %q", tc.port, got, tc.want)
		}
	}
}

func TestLookupHTTPS(t *testing.T) {
	svc := func(prio uint16, target string, port uint16) svcb.Record {
		return svcb.Record{Priority: prio, Target: target, Port: port}
	}
	zone := map[string][]dnsmessage.Resource{}
	add := func(rs ...dnsmessage.Resource) {
		for _, r := range rs {
			n := strings.ToLower(r.Header.Name.String())
			zone[n] = append(zone[n], r)
		}
	}
	add(httpsRR(t, "plain.example.", svc(1, ".", 8443)), httpsRR(t, "plain.example.", svc(2, "b.example.", 0)))
	add(httpsRR(t, "alias.example.", svc(0, "plain.example.", 0)),
		httpsRR(t, "alias.example.", svc(1, "ignored.example.", 0))) // ServiceMode beside an alias: ignored
	add(httpsRR(t, "alias2.example.", svc(0, "alias.example.", 0)))
	add(httpsRR(t, "loop1.example.", svc(0, "loop2.example.", 0)), httpsRR(t, "loop2.example.", svc(0, "loop1.example.", 0)))
	add(httpsRR(t, "none.example.", svc(0, ".", 0)))
	add(cnameRR("cname.example.", "plain.example."))
	add(httpsRR(t, "_8443._https.port.example.", svc(1, "p.example.", 0)))
	add(httpsRR(t, "host.lab.example.", svc(1, ".", 0)))
	add(aRR("nodata.example.", "192.0.2.1"))
	add(httpsRR(t, "apex.example.", svc(0, "edge.example.", 0)), aRR("edge.example.", "192.0.2.2"))
	add(httpsRR(t, "broken.example.", svc(0, "refused.example.", 0)))
	s := newFakeServer(t, func(q dnsmessage.Question, _ bool) reply {
		name := strings.ToLower(q.Name.String())
		if name == "refused.example." {
			return reply{rcode: dnsmessage.RCodeRefused}
		}
		rs, ok := zone[name]
		if !ok {
			return reply{rcode: dnsmessage.RCodeNameError}
		}
		var out []dnsmessage.Resource
		for _, r := range rs {
			if r.Header.Type == q.Type || r.Header.Type == dnsmessage.TypeCNAME {
				out = append(out, r)
			}
		}
		// A CNAME's target records come along, as a recursive server sends them.
		for _, r := range out {
			if c, ok := r.Body.(*dnsmessage.CNAMEResource); ok {
				for _, tr := range zone[strings.ToLower(c.CNAME.String())] {
					if tr.Header.Type == q.Type {
						out = append(out, tr)
					}
				}
			}
		}
		return reply{answers: out}
	})
	c := client(time.Second, s.addr())
	c.Config.Search = []string{"lab.example.", "other.example."}

	for _, tc := range []struct {
		host        string
		port        int
		name, owner string
		targets     []string // the records' targets, in order
		alias       string   // the last AliasMode target followed
		fails       bool     // an error comes with the Service so far
	}{
		{"plain.example", 443, "plain.example.", "plain.example.", []string{".", "b.example."}, "", false},
		{"alias.example", 443, "alias.example.", "plain.example.", []string{".", "b.example."}, "plain.example.", false},
		{"alias2.example", 443, "alias2.example.", "plain.example.", []string{".", "b.example."}, "plain.example.", false},
		{"loop1.example", 443, "loop1.example.", "loop2.example.", nil, "", false},
		{"none.example", 443, "none.example.", "none.example.", nil, "", false},
		{"cname.example", 443, "cname.example.", "plain.example.", []string{".", "b.example."}, "", false},
		{"port.example", 8443, "_8443._https.port.example.", "_8443._https.port.example.", []string{"p.example."}, "", false},
		{"host", 443, "host.lab.example.", "host.lab.example.", []string{"."}, "", false},
		{"nodata.example", 443, "nodata.example.", "nodata.example.", nil, "", false},
		{"nx.example", 443, "nx.example.", "nx.example.", nil, "", false},
		// An alias to a name with addresses and no HTTPS records of its own.
		{"apex.example", 443, "apex.example.", "edge.example.", nil, "edge.example.", false},
		// The alias target's lookup fails: its name still comes back.
		{"broken.example", 443, "broken.example.", "refused.example.", nil, "refused.example.", true},
	} {
		t.Run(tc.host, func(t *testing.T) {
			got, err := c.LookupHTTPS(t.Context(), tc.host, tc.port)
			if (err != nil) != tc.fails || got == nil {
				t.Fatalf("LookupHTTPS(%s, %d) = %+v, %v; want an error: %v", tc.host, tc.port, got, err, tc.fails)
			}
			var targets []string
			for _, r := range got.Records {
				targets = append(targets, r.Target)
			}
			if got.Name != tc.name || got.Owner != tc.owner || !cmp.Equal(targets, tc.targets) || got.Alias != tc.alias {
				t.Errorf("LookupHTTPS(%s, %d) = name %s owner %s targets %q alias %q; want %s %s %q %q",
					tc.host, tc.port, got.Name, got.Owner, targets, got.Alias, tc.name, tc.owner, tc.targets, tc.alias)
			}
		})
	}
}

func TestLookupHTTPSFailure(t *testing.T) {
	s := newFakeServer(t, func(dnsmessage.Question, bool) reply { return reply{rcode: dnsmessage.RCodeRefused} })
	_, err := client(time.Second, s.addr()).LookupHTTPS(t.Context(), "www.example", 443)
	if _, ok := errors.AsType[*net.DNSError](err); !ok {
		t.Errorf("LookupHTTPS with a refusing server = %v, want a *net.DNSError", err)
	}
	if _, err := client(time.Second, s.addr()).LookupHTTPS(t.Context(), "", 443); err == nil {
		t.Error("LookupHTTPS of an empty name: no error")
	}
}
