package svcb

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse feeds arbitrary record data through dnsmessage and Parse. Parse
// must not panic; what it accepts must be well formed and survive a round trip
// through Resource and Parse again. The seeds are RFC 9460's test vectors and
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0000 03666f6f 076578616d706c65 03636f6d 00",
		"0001 00",
		"0010 03666f6f 076578616d706c65 03636f6d 00 0003 0002 0035",
		"0001 03666f6f 076578616d706c65 03636f6d 00 0006 0020 20010db8000000000000000000000001 20010db8000000000000000000530001",
		"0010 03666f6f 076578616d706c65 036f7267 00 0000 0004 0001 0004 0001 0009 026832 0568332d3139 0004 0004 c0000201",
		"0001 00 0001 0003 026832 0002 0000 0005 0004 01020304",
	} {
		f.Add(rdata(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := unpack(data)
		if err != nil {
			return // dnsmessage refuses it: Parse never sees it
		}
		r, err := Parse(res)
		if err != nil {
			return
		}
		if r.Target == "" || r.Target[len(r.Target)-1] != '.' {
			t.Fatalf("target %q not canonical", r.Target)
		}
		for _, id := range r.ALPN {
			if id == "" {
				t.Fatal("empty ALPN id accepted")
			}
		}
		for _, h := range r.IPv4Hint {
			if !h.Is4() {
				t.Fatalf("ipv4hint %v", h)
			}
		}
		for _, h := range r.IPv6Hint {
			if !h.Is6() || h.Zone() != "" {
				t.Fatalf("ipv6hint %v", h)
			}
		}
		if r.NoDefaultALPN && len(r.ALPN) == 0 {
			t.Fatal("no-default-alpn without alpn accepted")
		}
		back, err := r.Resource()
		if err != nil {
			t.Fatalf("Resource of an accepted record: %v", err)
		}
		if hasUnknown(r) {
			return // Resource does not carry unknown keys, which mandatory names
		}
		again, err := Parse(back)
		if err != nil {
			t.Fatalf("Parse(Resource(r)) = %v for %+v", err, r)
		}
		if d := cmp.Diff(r, again, cmpAddrs); d != "" {
			t.Fatalf("round trip (-first +second):\n%s", d)
		}
	})
}

func hasUnknown(r Record) bool {
	for _, k := range r.Mandatory {
		if !Understood(k) {
			return true
		}
	}
	return false
}
