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

// A line longer than any buffer (a blocklist's aliases on one line) is read
// whole, and the lines after it too, as the C library reads them: names after
// it must not be asked of DNS (their HTTPS records) because the parse stopped.
// A last line without a newline counts.
func TestParseHostsLongLine(t *testing.T) {
	long := "0.0.0.0 " + strings.Repeat("ads.example.invalid ", 10000) + "last-on-long.example\n"
	h, err := ParseHosts(strings.NewReader("127.0.0.1 before.example\n" + long + "192.0.2.1 after.example\n192.0.2.2 unterminated.example"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"before.example", "last-on-long.example", "after.example", "unterminated.example"} {
		if !h.Has(name) {
			t.Errorf("Has(%q) = false after a line of %d bytes", name, len(long))
		}
	}
}
