package dnsstub

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestDomainRootIsNoSearchList: "domain ." names the root, which is no search
// suffix, as "search ." is none (FuzzParseConfig found it). It was kept, and a
// relative name then got the invalid query name "name.." first: no query could
// be built, and a name that does not exist was an error ("invalid name")
// instead of a Service without records.
func TestDomainRootIsNoSearchList(t *testing.T) {
	for _, text := range []string{"domain .\n", "search a.example\ndomain .\n"} {
		c, err := ParseConfig(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Search) != 0 {
			t.Errorf("%q: search list %q, want none", text, c.Search)
		}
	}

	var queries atomic.Int32
	s := newFakeServer(t, func(q dnsmessage.Question, _ bool) reply {
		queries.Add(1)
		return reply{rcode: dnsmessage.RCodeNameError}
	})
	conf, err := ParseConfig(strings.NewReader("nameserver 127.0.0.1\ndomain .\n"))
	if err != nil {
		t.Fatal(err)
	}
	conf.Servers, conf.Timeout, conf.Attempts = []netip.AddrPort{s.addr()}, 2*time.Second, 1
	svc, err := (&Client{Config: conf}).LookupHTTPS(t.Context(), "nosuch", 443)
	if err != nil {
		t.Fatalf("LookupHTTPS of a name that does not exist: %v; want a Service without records", err)
	}
	if len(svc.Records) != 0 || queries.Load() != 1 {
		t.Errorf("LookupHTTPS = %+v after %d queries; want no records after 1", svc, queries.Load())
	}
}
