package svcb

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/net/dns/dnsmessage"
)

// rdata decodes hex with spaces, the way RFC 9460 Appendix D prints its test
// vectors.
func rdata(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unpack wraps rdata in a DNS message as the answer of an HTTPS query and
// reads it back with dnsmessage, as a resolver receives it.
func unpack(data []byte) (dnsmessage.SVCBResource, error) {
	name := dnsmessage.MustNewName("example.com.")
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{Response: true})
	if err := b.StartAnswers(); err != nil {
		return dnsmessage.SVCBResource{}, err
	}
	hdr := dnsmessage.ResourceHeader{Name: name, Class: dnsmessage.ClassINET, TTL: 60}
	if err := b.UnknownResource(hdr, dnsmessage.UnknownResource{Type: dnsmessage.TypeHTTPS, Data: data}); err != nil {
		return dnsmessage.SVCBResource{}, err
	}
	msg, err := b.Finish()
	if err != nil {
		return dnsmessage.SVCBResource{}, err
	}
	var p dnsmessage.Parser
	if _, err := p.Start(msg); err != nil {
		return dnsmessage.SVCBResource{}, err
	}
	if err := p.SkipAllQuestions(); err != nil {
		return dnsmessage.SVCBResource{}, err
	}
	if _, err := p.AnswerHeader(); err != nil {
		return dnsmessage.SVCBResource{}, err
	}
	r, err := p.HTTPSResource()
	return r.SVCBResource, err
}

// cmpAddrs lets cmp compare netip values.
var cmpAddrs = cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{})

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// The wire-format test vectors of RFC 9460 Appendix D, and the parameters it
// says they carry.
func TestParseRFC9460Vectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire string
		want Record
	}{
		{"D.1 alias", "0000 03666f6f 076578616d706c65 03636f6d 00",
			Record{Priority: 0, Target: "foo.example.com."}},
		{"D.2 figure 3 service root", "0001 00",
			Record{Priority: 1, Target: "."}},
		{"D.2 figure 4 port", "0010 03666f6f 076578616d706c65 03636f6d 00 0003 0002 0035",
			Record{Priority: 16, Target: "foo.example.com.", Port: 53}},
		{"D.2 figure 5 generic key", "0001 03666f6f 076578616d706c65 03636f6d 00 029b 0005 68656c6c6f",
			Record{Priority: 1, Target: "foo.example.com."}},
		{"D.2 figure 6 generic key, quoted", "0001 03666f6f 076578616d706c65 03636f6d 00 029b 0009 68656c6c6fd2716f6f",
			Record{Priority: 1, Target: "foo.example.com."}},
		{"D.2 figure 7 two ipv6 hints", "0001 03666f6f 076578616d706c65 03636f6d 00 0006 0020" +
			"20010db8000000000000000000000001 20010db8000000000000000000530001",
			Record{Priority: 1, Target: "foo.example.com.", IPv6Hint: addrs("2001:db8::1", "2001:db8::53:1")}},
		{"D.2 figure 8 ipv6 hint in v4 notation", "0001 076578616d706c65 03636f6d 00 0006 0010 20010db801220344 00000000c0000221",
			Record{Priority: 1, Target: "example.com.", IPv6Hint: addrs("2001:db8:122:344::c000:221")}},
		{"D.2 figure 9 mandatory, alpn, ipv4hint", "0010 03666f6f 076578616d706c65 036f7267 00" +
			"0000 0004 0001 0004  0001 0009 026832 0568332d3139  0004 0004 c0000201",
			Record{Priority: 16, Target: "foo.example.org.", ALPN: []string{"h2", "h3-19"},
				Mandatory: []dnsmessage.SVCParamKey{dnsmessage.SVCParamALPN, dnsmessage.SVCParamIPv4Hint},
				IPv4Hint:  addrs("192.0.2.1")}},
		{"D.2 figure 10 alpn with escapes", "0010 03666f6f 076578616d706c65 036f7267 00 0001 000c 08665c6f6f2c626172 026832",
			Record{Priority: 16, Target: "foo.example.org.", ALPN: []string{`f\oo,bar`, "h2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := unpack(rdata(t, tc.wire))
			if err != nil {
				t.Fatalf("dnsmessage: %v", err)
			}
			got, err := Parse(res)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if d := cmp.Diff(tc.want, got, cmpAddrs); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// The failure cases of RFC 9460 Appendix D.3 that reach Parse (dnsmessage
// already refuses repeated and unordered keys), and the malformed values of
// sections 7 and 8.
func TestParseMalformed(t *testing.T) {
	target := "03666f6f 076578616d706c65 036f7267 00"
	for _, tc := range []struct {
		name, params string
		key          dnsmessage.SVCParamKey
	}{
		{"D.3 missing mandatory key", "0000 0002 0001  0004 0004 c0000201", dnsmessage.SVCParamMandatory},
		{"D.3 mandatory lists mandatory", "0000 0002 0000", dnsmessage.SVCParamMandatory},
		{"D.3 mandatory repeats a key", "0000 0004 0001 0001  0001 0003 026832", dnsmessage.SVCParamMandatory},
		{"mandatory empty", "0000 0000", dnsmessage.SVCParamMandatory},
		{"mandatory odd length", "0000 0003 000100", dnsmessage.SVCParamMandatory},
		{"alpn empty", "0001 0000", dnsmessage.SVCParamALPN},
		{"alpn zero-length id", "0001 0001 00", dnsmessage.SVCParamALPN},
		{"alpn id past the end", "0001 0003 056832", dnsmessage.SVCParamALPN},
		{"alpn with 33 ids", "0001 0042" + strings.Repeat(" 0161", 33), dnsmessage.SVCParamALPN},
		{"no-default-alpn with a value", "0001 0003 026832  0002 0001 00", dnsmessage.SVCParamNoDefaultALPN},
		{"no-default-alpn without alpn", "0002 0000", dnsmessage.SVCParamNoDefaultALPN},
		{"port too short", "0003 0001 35", dnsmessage.SVCParamPort},
		{"port too long", "0003 0003 003500", dnsmessage.SVCParamPort},
		{"ipv4hint empty", "0004 0000", dnsmessage.SVCParamIPv4Hint},
		{"ipv4hint not a multiple of 4", "0004 0005 c000020101", dnsmessage.SVCParamIPv4Hint},
		{"ech empty", "0005 0000", dnsmessage.SVCParamECH},
		{"ipv6hint not a multiple of 16", "0006 0004 20010db8", dnsmessage.SVCParamIPv6Hint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := unpack(rdata(t, "0001"+target+tc.params))
			if err != nil {
				t.Fatalf("dnsmessage: %v", err)
			}
			_, err = Parse(res)
			pe, ok := errors.AsType[*ParseError](err)
			if !ok {
				t.Fatalf("Parse = %v, want a *ParseError", err)
			}
			if pe.Key != tc.key {
				t.Errorf("error names key %s, want %s (%v)", keyName(pe.Key), keyName(tc.key), err)
			}
		})
	}
}

// AliasMode records ignore their parameters (RFC 9460 section 2.4.2), even
// malformed ones.
func TestParseAliasIgnoresParams(t *testing.T) {
	res, err := unpack(rdata(t, "0000 03666f6f 00 0003 0001 35"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(res)
	if err != nil || got.Target != "foo." || !got.IsAlias() || got.Port != 0 {
		t.Errorf("Parse = %+v, %v; want an alias to foo. without port", got, err)
	}
}

func TestParseOutOfOrder(t *testing.T) {
	res := dnsmessage.SVCBResource{Priority: 1, Target: dnsmessage.MustNewName("."),
		Params: []dnsmessage.SVCParam{{Key: 3, Value: []byte{0, 1}}, {Key: 1, Value: []byte{2, 'h', '2'}}}}
	if _, err := Parse(res); !errors.Is(err, errNotIncreasing) {
		t.Errorf("Parse = %v, want %v", err, errNotIncreasing)
	}
}

func TestALPNSetAndSupports(t *testing.T) {
	for _, tc := range []struct {
		name   string
		r      Record
		set    []string
		client []string
		ok     bool
	}{
		{"default added", Record{Priority: 1, ALPN: []string{"h2"}}, []string{"h2", "http/1.1"}, []string{"http/1.1"}, true},
		{"no alpn at all", Record{Priority: 1}, []string{"http/1.1"}, nil, true},
		{"h3 only (the draft's example)", Record{Priority: 1, ALPN: []string{"h3"}, NoDefaultALPN: true},
			[]string{"h3"}, []string{"h2", "http/1.1"}, false},
		{"h3 only, client unspecified", Record{Priority: 1, ALPN: []string{"h3"}, NoDefaultALPN: true}, []string{"h3"}, nil, false},
		{"h3 with default", Record{Priority: 1, ALPN: []string{"h3"}}, []string{"h3", "http/1.1"}, []string{"h2", "http/1.1"}, true},
		{"client protocol other", Record{Priority: 1, ALPN: []string{"h2"}, NoDefaultALPN: true}, []string{"h2"}, []string{"imap"}, false},
		{"unknown mandatory key", Record{Priority: 1, Mandatory: []dnsmessage.SVCParamKey{667}}, []string{"http/1.1"}, nil, false},
		{"known mandatory key", Record{Priority: 1, Port: 8443, Mandatory: []dnsmessage.SVCParamKey{dnsmessage.SVCParamPort}},
			[]string{"http/1.1"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.set, tc.r.ALPNSet()); d != "" {
				t.Errorf("ALPNSet (-want +got):\n%s", d)
			}
			if got := tc.r.Supports(tc.client); got != tc.ok {
				t.Errorf("Supports(%q) = %v, want %v", tc.client, got, tc.ok)
			}
		})
	}
}

func TestResourceRoundTrip(t *testing.T) {
	r := Record{Priority: 2, Target: "svc.example.", ALPN: []string{"h2", "http/1.1"}, NoDefaultALPN: true, Port: 8443,
		IPv4Hint: addrs("192.0.2.1", "192.0.2.2"), IPv6Hint: addrs("2001:db8::1"), ECH: []byte{0, 4, 1, 2, 3, 4},
		Mandatory: []dnsmessage.SVCParamKey{dnsmessage.SVCParamPort}}
	res, err := r.Resource()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(res)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(r, got, cmpAddrs); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestEffectiveTarget(t *testing.T) {
	if got := (Record{Priority: 1, Target: "."}).EffectiveTarget("Owner.Example"); got != "owner.example." {
		t.Errorf("EffectiveTarget of . = %q", got)
	}
	if got := (Record{Priority: 1, Target: "svc.example."}).EffectiveTarget("owner.example."); got != "svc.example." {
		t.Errorf("EffectiveTarget = %q", got)
	}
}

// TestParseALPNBound checks that an alpn parameter of maxALPNIDs ids parses,
// and that an ipv6hint's IPv4-mapped addresses are left out, not unmapped
// into IPv4 hints that no AAAA answer replaces.
func TestParseALPNBound(t *testing.T) {
	target := "03666f6f 076578616d706c65 036f7267 00"
	res, err := unpack(rdata(t, "0001"+target+"0001 0040"+strings.Repeat(" 0161", 32)+
		" 0006 0020 20010db8000000000000000000000001 00000000000000000000ffffc0000242"))
	if err != nil {
		t.Fatalf("dnsmessage: %v", err)
	}
	r, err := Parse(res)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(r.ALPN) != maxALPNIDs {
		t.Errorf("%d alpn ids, want %d", len(r.ALPN), maxALPNIDs)
	}
	if d := cmp.Diff(addrs("2001:db8::1"), r.IPv6Hint, cmpAddrs); d != "" {
		t.Errorf("IPv6Hint (-want +got):\n%s", d)
	}
}

// TestParseHintsBounded: an ipv4hint of 16,000 addresses (one parameter of a
// 64 KB answer) keeps the first maxHints, each a destination to rank and race.
func TestParseHintsBounded(t *testing.T) {
	h4 := make([]netip.Addr, 16000)
	for i := range h4 {
		h4[i] = netip.AddrFrom4([4]byte{8, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	res, err := Record{Priority: 1, Target: ".", ALPN: []string{"h2"}, IPv4Hint: h4}.Resource()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Parse(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.IPv4Hint) != maxHints || r.IPv4Hint[0] != h4[0] || r.IPv4Hint[maxHints-1] != h4[maxHints-1] {
		t.Errorf("%d hints kept (first %v), want the first %d", len(r.IPv4Hint), r.IPv4Hint[:1], maxHints)
	}
}
