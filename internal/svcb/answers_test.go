package svcb

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/dns/dnsmessage"
)

// step is one DNS answer arriving.
type step func(a *Answers)

func services(owner string, rs ...Record) step {
	return func(a *Answers) { a.SetServices(owner, rs) }
}

func aaaa(name string, ips ...string) step {
	return func(a *Answers) { a.SetAddrs(name, true, false, addrs(ips...)) }
}

func aRec(name string, ips ...string) step {
	return func(a *Answers) { a.SetAddrs(name, false, false, addrs(ips...)) }
}

func alias(target string) step {
	return func(a *Answers) { a.SetAlias(target) }
}

func failed(name string, is6 bool) step {
	return func(a *Answers) { a.SetAddrs(name, is6, true, nil) }
}

// show prints endpoints compactly: "group:[addr]:port" plus "(hint)" and the
// record's target, so that a table reads like the expected order.
func show(eps []Endpoint) []string {
	var out []string
	for _, e := range eps {
		s := fmt.Sprintf("%d:%s", e.Group, e.AddrPort())
		if e.Service != nil {
			s += " " + e.Service.Target
		}
		if e.Hint {
			s += " (hint)"
		}
		out = append(out, s)
	}
	return out
}

func TestEndpoints(t *testing.T) {
	const origin = "www.example."
	h2 := []string{"h2"}
	for _, tc := range []struct {
		name  string
		steps []step
		want  []string
		ready bool // Ready(true) after the steps
	}{
		{"no https records: one group, IPv6 first",
			[]step{services(origin), aRec(origin, "192.0.2.1"), aaaa(origin, "2001:db8::1", "2001:db8::2")},
			[]string{"0:[2001:db8::1]:443", "0:[2001:db8::2]:443", "0:192.0.2.1:443"}, true},
		{"A alone, AAAA pending: endpoints but not ready",
			[]step{services(origin), aRec(origin, "192.0.2.1")},
			[]string{"0:192.0.2.1:443"}, false},
		{"A and a negative AAAA: ready",
			[]step{services(origin), aRec(origin, "192.0.2.1"), aaaa(origin)},
			[]string{"0:192.0.2.1:443"}, true},
		{"https pending: not ready",
			[]step{aRec(origin, "192.0.2.1"), aaaa(origin, "2001:db8::1")},
			[]string{"0:[2001:db8::1]:443", "0:192.0.2.1:443"}, false},
		{"target . takes the origin's addresses at the record's port, then the origin's port (RFC 9460 section 3)",
			[]step{services(origin, Record{Priority: 1, Target: ".", Port: 8443}),
				aaaa(origin, "2001:db8::1"), aRec(origin, "192.0.2.1")},
			[]string{"0:[2001:db8::1]:8443 .", "0:192.0.2.1:8443 .", "1:[2001:db8::1]:443", "1:192.0.2.1:443"}, true},
		{"target . at the origin's port covers the origin's addresses",
			[]step{services(origin, Record{Priority: 1, Target: "."}),
				aaaa(origin, "2001:db8::1"), aRec(origin, "192.0.2.1")},
			[]string{"0:[2001:db8::1]:443 .", "0:192.0.2.1:443 ."}, true},
		{"hints before A and AAAA: a hint-only answer is ready",
			[]step{services(origin, Record{Priority: 1, Target: ".", IPv6Hint: addrs("2001:db8::9"), IPv4Hint: addrs("192.0.2.9")})},
			[]string{"0:[2001:db8::9]:443 . (hint)", "0:192.0.2.9:443 . (hint)"}, true},
		{"AAAA replaces the IPv6 hints, absent hints dropped; IPv4 hints stay until A",
			[]step{services(origin, Record{Priority: 1, Target: ".", IPv6Hint: addrs("2001:db8::9", "2001:db8::1"), IPv4Hint: addrs("192.0.2.9")}),
				aaaa(origin, "2001:db8::1")},
			[]string{"0:[2001:db8::1]:443 .", "0:192.0.2.9:443 . (hint)"}, true},
		{"a negative AAAA drops the IPv6 hints",
			[]step{services(origin, Record{Priority: 1, Target: ".", IPv6Hint: addrs("2001:db8::9"), IPv4Hint: addrs("192.0.2.9")}),
				aaaa(origin), aRec(origin, "192.0.2.9")},
			[]string{"0:192.0.2.9:443 ."}, true},
		{"a failed AAAA keeps the IPv6 hints",
			[]step{services(origin, Record{Priority: 1, Target: ".", IPv6Hint: addrs("2001:db8::9")}), failed(origin, true)},
			[]string{"0:[2001:db8::9]:443 . (hint)"}, true},
		{"two priorities: the better group first, unassociated origin addresses last",
			[]step{services(origin,
				Record{Priority: 2, Target: "b.example.", ALPN: h2},
				Record{Priority: 1, Target: "a.example.", ALPN: h2}),
				aRec(origin, "192.0.2.1"), aaaa(origin, "2001:db8::1"),
				aaaa("b.example.", "2001:db8:b::1"), aRec("b.example.", "192.0.2.22"),
				aaaa("a.example.", "2001:db8:a::1"), aRec("a.example.", "192.0.2.11")},
			[]string{"0:[2001:db8:a::1]:443 a.example.", "0:192.0.2.11:443 a.example.",
				"1:[2001:db8:b::1]:443 b.example.", "1:192.0.2.22:443 b.example.",
				"2:[2001:db8::1]:443", "2:192.0.2.1:443"}, true},
		{"an endpoint whose ALPN set the client lacks is skipped (h3 only)",
			[]step{services(origin,
				Record{Priority: 1, Target: "h3.example.", ALPN: []string{"h3"}, NoDefaultALPN: true, IPv6Hint: addrs("2001:db8:3::1")},
				Record{Priority: 2, Target: ".", ALPN: h2}),
				aaaa(origin, "2001:db8::1"), aRec(origin)},
			[]string{"0:[2001:db8::1]:443 ."}, true},
		{"an address in two groups stays in the better one",
			[]step{services(origin,
				Record{Priority: 1, Target: "a.example.", IPv6Hint: addrs("2001:db8::1")},
				Record{Priority: 2, Target: "."}),
				aaaa(origin, "2001:db8::1", "2001:db8::2"), aRec(origin)},
			[]string{"0:[2001:db8::1]:443 a.example. (hint)", "1:[2001:db8::2]:443 ."}, true},
		{"first group's AAAA pending, no IPv6 at all yet: not ready",
			[]step{services(origin, Record{Priority: 1, Target: "a.example."}),
				aRec("a.example.", "192.0.2.11"), aRec(origin), aaaa(origin)},
			[]string{"0:192.0.2.11:443 a.example."}, false},
		{"the best group's addresses pending: not ready, though the origin's are in",
			[]step{services(origin, Record{Priority: 1, Target: "a.example."}), aaaa(origin, "2001:db8::1"), aRec(origin, "192.0.2.1")},
			[]string{"1:[2001:db8::1]:443", "1:192.0.2.1:443"}, false},
		{"an alias to a name without records: its addresses, then the origin's (RFC 9460 section 3)",
			[]step{alias("cdn.example"), services("cdn.example."),
				aaaa(origin), aRec(origin, "192.0.2.1"), aaaa("cdn.example.", "2001:db8:c::1"), aRec("cdn.example.", "192.0.2.3")},
			[]string{"0:[2001:db8:c::1]:443", "0:192.0.2.3:443", "1:192.0.2.1:443"}, true},
		{"an alias with records: the records, the alias target's, the origin's",
			[]step{alias("cdn.example."), services("cdn.example.", Record{Priority: 1, Target: "edge.example.", Port: 8443}),
				aaaa(origin, "2001:db8::1"), aRec(origin), aaaa("cdn.example.", "2001:db8:c::1"), aRec("cdn.example."),
				aaaa("edge.example.", "2001:db8:e::1"), aRec("edge.example.")},
			[]string{"0:[2001:db8:e::1]:8443 edge.example.", "1:[2001:db8:c::1]:443", "2:[2001:db8::1]:443"}, true},
		{"an alias whose addresses are pending: the origin's keep their group, not ready",
			[]step{alias("cdn.example."), services("cdn.example."), aaaa(origin, "2001:db8::1"), aRec(origin, "192.0.2.1")},
			[]string{"1:[2001:db8::1]:443", "1:192.0.2.1:443"}, false},
		{"duplicates in an answer once; mapped addresses unmapped",
			[]step{services(origin), aRec(origin, "192.0.2.1", "192.0.2.1"), aaaa(origin, "::ffff:192.0.2.7")},
			[]string{"0:192.0.2.1:443"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAnswers(strings.ToUpper(origin[:3])+origin[3:len(origin)-1], 443, []string{"h2", "http/1.1"})
			for _, s := range tc.steps {
				s(a)
			}
			if d := cmp.Diff(tc.want, show(a.Endpoints())); d != "" {
				t.Errorf("Endpoints (-want +got):\n%s", d)
			}
			if got := a.Ready(true); got != tc.ready {
				t.Errorf("Ready(true) = %v, want %v", got, tc.ready)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	a := NewAnswers("www.example", 443, nil)
	a.SetServices("alias-end.example.", []Record{
		{Priority: 3, Target: "."},
		{Priority: 1, Target: "b.example."},
		{Priority: 2, Target: "b.example."},
		{Priority: 0, Target: "ignored-alias.example."},
	})
	want := []string{"www.example.", "b.example.", "alias-end.example."}
	if d := cmp.Diff(want, a.Targets()); d != "" {
		t.Errorf("Targets (-want +got):\n%s", d)
	}
	a.SetAlias("Alias-End.example")
	if d := cmp.Diff(want, a.Targets()); d != "" {
		t.Errorf("Targets with the alias target a record's too (-want +got):\n%s", d)
	}
	a.SetAlias("cdn.example")
	if d := cmp.Diff(append(want, "cdn.example."), a.Targets()); d != "" {
		t.Errorf("Targets with an alias (-want +got):\n%s", d)
	}
}

// Endpoints handed out keep their record when the services change later.
func TestEndpointServiceStable(t *testing.T) {
	a := NewAnswers("www.example", 443, nil)
	a.SetServices("www.example", []Record{{Priority: 1, Target: ".", Port: 1, IPv6Hint: addrs("2001:db8::1")}})
	before := a.Endpoints()
	a.SetServices("www.example", []Record{{Priority: 1, Target: ".", Port: 2, IPv6Hint: addrs("2001:db8::2")}})
	if before[0].Service.Port != 1 {
		t.Errorf("an earlier endpoint's record changed to port %d", before[0].Service.Port)
	}
}

// TestServicesBound checks that SetServices keeps the MaxServices records of
// the lowest priorities: their targets are what the client looks up.
func TestServicesBound(t *testing.T) {
	a := NewAnswers("www.example", 443, nil)
	var rs []Record
	for i := range 3 * MaxServices {
		rs = append(rs, Record{Priority: uint16(3*MaxServices - i), Target: fmt.Sprintf("t%d.example.", i)})
	}
	a.SetServices("www.example.", rs)
	got := a.Targets()
	if len(got) != 1+MaxServices || got[1] != fmt.Sprintf("t%d.example.", 3*MaxServices-1) {
		t.Errorf("Targets = %v, want the origin and the %d targets of priorities 1 to %d", got, MaxServices, MaxServices)
	}
}

// TestMandatoryECH checks that a record making ech mandatory is usable only by
// a client that uses ECH (RFC 9460 section 8).
func TestMandatoryECH(t *testing.T) {
	r := Record{Priority: 1, Target: "backend.example.", ECH: []byte{0, 1},
		Mandatory: []dnsmessage.SVCParamKey{dnsmessage.SVCParamECH}}
	for _, ech := range []bool{false, true} {
		a := NewAnswers("www.example", 443, nil)
		if ech {
			a.UseECH()
		}
		a.SetServices("www.example.", []Record{r})
		if got := len(a.Services()); got != map[bool]int{false: 0, true: 1}[ech] {
			t.Errorf("ECH %v: %d usable records, want %d", ech, got, map[bool]int{false: 0, true: 1}[ech])
		}
	}
}

// TestServicesShuffled checks that records of one priority come in either
// order (RFC 9460 section 2.4.1), and always after those of a better one.
func TestServicesShuffled(t *testing.T) {
	seen := map[string]int{}
	for range 200 {
		a := NewAnswers("www.example", 443, nil)
		a.SetServices("www.example.", []Record{
			{Priority: 2, Target: "b.example."}, {Priority: 2, Target: "c.example."}, {Priority: 1, Target: "a.example."}})
		seen[strings.Join(a.Targets(), " ")]++
	}
	want := map[string]bool{
		"www.example. a.example. b.example. c.example.": true,
		"www.example. a.example. c.example. b.example.": true,
	}
	for order, n := range seen {
		if !want[order] {
			t.Errorf("targets %q (%d times): not by priority", order, n)
		}
	}
	if len(seen) != 2 {
		t.Errorf("orders %v in 200 answers: want both orders of the priority 2 records", seen)
	}
}
