package dnsstub

import (
	"strings"
	"testing"
)

func TestParseHosts(t *testing.T) {
	h, err := ParseHosts(strings.NewReader(`# comment
127.0.0.1	localhost
::1 ip6-localhost ip6-loopback # trailing
192.168.1.5   NAS.home nas   # the NAS
10.0.0.1
  
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"localhost": true, "ip6-loopback.": true, "nas.home": true, "NAS": true,
		"comment": false, "trailing": false, "10.0.0.1": false, "the": false,
	} {
		if got := h.Has(name); got != want {
			t.Errorf("Has(%q) = %v, want %v", name, got, want)
		}
	}
}
