package dnsstub

import (
	"bufio"
	"io"
	"os"
	"strings"

	"github.com/getapr/getapr/internal/svcb"
)

// DefaultHostsPath is the hosts file ReadHosts reads when given no path.
const DefaultHostsPath = "/etc/hosts"

// maxHostsSize bounds the part of a hosts file read: blocklists of a hundred
// thousand names fit.
const maxHostsSize = 16 << 20

// Hosts is the set of names a hosts file gives addresses to: names the system
// resolves without asking DNS, so a client asks DNS nothing else about them
// (their HTTPS records, say) either.
type Hosts map[string]bool

// Has reports whether name (any case, with or without the final dot) is in
// the hosts file.
func (h Hosts) Has(name string) bool { return h[svcb.CanonicalName(name)] }

// ReadHosts reads the names of the hosts file at path (DefaultHostsPath when
// empty).
func ReadHosts(path string) (Hosts, error) {
	if path == "" {
		path = DefaultHostsPath
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseHosts(io.LimitReader(f, maxHostsSize))
}

// ParseHosts reads the names of a hosts file from r: every line's fields after
// the address, up to a '#'. Lines may be of any length, as the C library and
// Go's resolver read them (ReadHosts bounds the whole file).
func ParseHosts(r io.Reader) (Hosts, error) {
	h := Hosts{}
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		line, _, _ = strings.Cut(line, "#")
		if fields := strings.Fields(line); len(fields) >= 2 {
			for _, name := range fields[1:] {
				h[svcb.CanonicalName(name)] = true
			}
		}
		switch {
		case err == io.EOF:
			return h, nil
		case err != nil:
			return h, err
		}
	}
}
