package probe

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeAtlasPage checks that whatever a server answers, the anchors kept are
// at most atlasMaxAnchors, with fields of at most atlasMaxField bytes, and
// addresses CheckProbeTarget accepts. The seed corpus is the recorded answers in
// testdata/probe.
func FuzzDecodeAtlasPage(f *testing.F) {
	seeds, err := filepath.Glob("../testdata/probe/atlas-anchors-page*.json")
	if err != nil || len(seeds) == 0 {
		f.Fatal("no seeds:", err)
	}
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"results":[{"ip_v4":"127.0.0.1","ip_v6":"fe80::1%eth0"},{"ip_v4":"198.51.100.1"}],"next":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out []Anchor
		decodeAtlasPage(json.NewDecoder(bytes.NewReader(b)), &out) // errors or not, out holds what was kept
		if len(out) > atlasMaxAnchors {
			t.Fatalf("%d anchors", len(out))
		}
		for _, a := range out {
			if len(a.FQDN) > atlasMaxField || len(a.City) > atlasMaxField || len(a.Country) > atlasMaxField {
				t.Fatalf("anchor %+v: field too long", a)
			}
			if !a.Addr4.IsValid() && !a.Addr6.IsValid() {
				t.Fatalf("anchor %+v without address", a)
			}
			if a.Addr4.IsValid() && (!a.Addr4.Is4() || CheckProbeTarget(a.Addr4, false) != nil) {
				t.Fatalf("anchor %+v: IPv4 address not a probe target", a)
			}
			if a.Addr6.IsValid() && (!a.Addr6.Is6() || CheckProbeTarget(a.Addr6, false) != nil) {
				t.Fatalf("anchor %+v: IPv6 address not a probe target", a)
			}
		}
	})
}
