package dnsstub

import (
	"bufio"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/getapr/getapr/internal/svcb"
)

// Defaults of resolv.conf(5), as glibc and Go's resolver apply them.
const (
	DefaultNdots    = 1
	DefaultTimeout  = 5 * time.Second
	DefaultAttempts = 2
	// MaxNdots, MaxTimeout and MaxAttempts cap the options as glibc does.
	MaxNdots    = 15
	MaxTimeout  = 30 * time.Second
	MaxAttempts = 5
	// DefaultConfigPath is where the system's resolver configuration is.
	DefaultConfigPath = "/etc/resolv.conf"
)

// Config is the part of resolv.conf(5) a stub resolver needs.
type Config struct {
	// Servers are the nameserver lines, port 53, in the file's order. Every
	// one is kept: there is no limit of three.
	Servers []netip.AddrPort
	// Search is the search list (the last search or domain line), each name
	// canonical (lower case, final dot).
	Search []string
	// Ndots is how many dots make a name tried as it is before the search
	// list (options ndots:n).
	Ndots int
	// Timeout is how long one try waits for an answer (options timeout:n).
	Timeout time.Duration
	// Attempts is how many times each server is tried (options attempts:n).
	Attempts int
	// Rotate spreads queries over the servers (options rotate).
	Rotate bool
	// UseTCP sends every query over TCP (options use-vc).
	UseTCP bool
}

// DefaultConfig is the configuration of a system without resolv.conf: a
// server on the loopback addresses and the defaults.
func DefaultConfig() *Config {
	return &Config{
		Servers:  []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:53"), netip.MustParseAddrPort("[::1]:53")},
		Ndots:    DefaultNdots,
		Timeout:  DefaultTimeout,
		Attempts: DefaultAttempts,
	}
}

// maxServers is how many nameserver lines count: resolv.conf(5)'s MAXNS.
const maxServers = 3

// ReadConfig reads the resolv.conf file at path (DefaultConfigPath if
// empty). An error means the file cannot be read: a caller then has no stub
// resolver, only the system's.
func ReadConfig(path string) (*Config, error) {
	if path == "" {
		path = DefaultConfigPath
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseConfig(f)
}

// ParseConfig reads resolv.conf(5) text. Lines it does not understand, and
// nameserver lines that are not IP addresses, are skipped, as the system's
// resolver skips them. Only the first maxServers servers count, as for glibc
// and Go's own resolver (MAXNS): each one more adds its timeouts to a lookup
// that no server answers. Without a nameserver line the servers are
// DefaultConfig's. An error is only a read error.
func ParseConfig(r io.Reader) (*Config, error) {
	c := DefaultConfig()
	c.Servers = nil
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 1 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) > 1 {
				if a, err := netip.ParseAddr(f[1]); err == nil && len(c.Servers) < maxServers {
					c.Servers = append(c.Servers, netip.AddrPortFrom(a, 53))
				}
			}
		case "domain":
			if len(f) > 1 {
				c.Search = nil // "domain ." names the root: no suffix, as for search
				if s := svcb.CanonicalName(f[1]); s != "." {
					c.Search = []string{s}
				}
			}
		case "search":
			c.Search = nil
			for _, s := range f[1:] {
				if s = svcb.CanonicalName(s); s != "." {
					c.Search = append(c.Search, s)
				}
			}
		case "options":
			for _, o := range f[1:] {
				c.option(o)
			}
		}
	}
	if len(c.Servers) == 0 {
		c.Servers = DefaultConfig().Servers
	}
	return c, sc.Err()
}

// option applies one word of an options line.
func (c *Config) option(o string) {
	name, val, _ := strings.Cut(o, ":")
	n, err := strconv.Atoi(val)
	num := err == nil && n >= 0
	switch name {
	case "ndots":
		if num {
			c.Ndots = min(n, MaxNdots)
		}
	case "timeout":
		if num {
			c.Timeout = min(max(time.Duration(n)*time.Second, time.Second), MaxTimeout)
		}
	case "attempts":
		if num {
			c.Attempts = min(max(n, 1), MaxAttempts)
		}
	case "rotate":
		c.Rotate = true
	case "use-vc", "usevc", "tcp":
		c.UseTCP = true
	}
}

// NameList returns the names to query for name, in order, as the system's
// resolver tries them: a name with a final dot only as it is; one with at
// least Ndots dots as it is first, then with each search suffix; one with
// fewer, with each suffix first and as it is last. Names are canonical. An
// invalid name (empty, or longer than 254 bytes) gives none.
func (c *Config) NameList(name string) []string {
	if name == "" || len(name) > 254 || (len(name) == 254 && name[253] != '.') {
		return nil
	}
	if strings.HasSuffix(name, ".") {
		return []string{svcb.CanonicalName(name)}
	}
	abs := svcb.CanonicalName(name)
	hasNdots := strings.Count(name, ".") >= c.Ndots
	var out []string
	if hasNdots {
		out = append(out, abs)
	}
	for _, s := range c.Search {
		if n := abs + s; len(n) <= 254 {
			out = append(out, n)
		}
	}
	if !hasNdots {
		out = append(out, abs)
	}
	return out
}
