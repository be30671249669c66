package pairs

import (
	"cmp"
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/getapr/getapr/internal/dnsstub"
)

// httpsFunc looks up the HTTPS records of an origin, host and port, as
// dnsstub.Client.LookupHTTPS does.
type httpsFunc func(ctx context.Context, host string, port uint16) (*dnsstub.Service, error)

// resolvConfTTL is how long a read of resolv.conf is used before it is read
// again (Go's resolver checks every 5 s too).
const resolvConfTTL = 5 * time.Second

// stubConf is the stub resolver's configuration, read from resolv.conf, and
// the names of the hosts file, each read at most every resolvConfTTL.
type stubConf struct {
	mu        sync.Mutex
	conf      *dnsstub.Config // nil when the last read failed
	read      time.Time
	hosts     dnsstub.Hosts // nil when the last read failed
	hostsRead time.Time     // when the hosts file was last looked at
	hostsStat hostsStat     // what it was like when last read
	hostsPath string        // "" for dnsstub.DefaultHostsPath (tests set it)
}

// hostsStat is what tells a hosts file changed: its modification time and size.
type hostsStat struct {
	mod  time.Time
	size int64
}

// get returns the configuration, reading resolv.conf again when the last
// read is old; nil when it cannot be read.
func (c *stubConf) get(now time.Time) *dnsstub.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read.IsZero() || now.Sub(c.read) >= resolvConfTTL {
		c.conf, _ = dnsstub.ReadConfig("")
		c.read = now
	}
	return c.conf
}

// local reports whether the system resolves host without DNS, or DNS must not
// be asked about it: a special-use name (RFC 6761: localhost, .localhost,
// .invalid; RFC 6762: .local, multicast DNS's) or a name of the hosts file.
// Its HTTPS records are not asked for: a query would only tell the DNS servers
// a name net.Dialer never sends them.
func (c *stubConf) local(host string, now time.Time) bool {
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, s := range []string{"localhost", "invalid", "local"} {
		if name == s || strings.HasSuffix(name, "."+s) {
			return true
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hostsRead.IsZero() || now.Sub(c.hostsRead) >= resolvConfTTL {
		c.hostsRead = now
		path := cmp.Or(c.hostsPath, dnsstub.DefaultHostsPath)
		var st hostsStat
		if fi, err := os.Stat(path); err == nil {
			st = hostsStat{fi.ModTime(), fi.Size()}
		}
		if st != c.hostsStat || c.hosts == nil { // read again only when it changed, as Go's resolver does
			c.hostsStat = st
			c.hosts, _ = dnsstub.ReadHosts(path)
		}
	}
	return c.hosts.Has(name)
}

// httpsLookup returns the HTTPS lookup of a query whose names r resolves:
// the stub resolver on resolv.conf's servers, reached through r's Dial when
// it has one (so that a custom resolver's transport carries these queries
// too). It is nil when resolv.conf cannot be read.
func (s *Selector) httpsLookup(r *net.Resolver) httpsFunc {
	if s.cfg.httpsLookup != nil {
		return s.cfg.httpsLookup
	}
	conf := s.stub.get(time.Now())
	if conf == nil {
		return nil
	}
	if r == nil {
		r = s.resolver()
	}
	c := &dnsstub.Client{Config: conf, Dial: r.Dial}
	return func(ctx context.Context, host string, port uint16) (*dnsstub.Service, error) {
		return c.LookupHTTPS(ctx, host, int(port))
	}
}

// How long an HTTPS answer is waited for once the address answers are in.
// The HTTPS query goes to the same servers at the same moment as the A and
// AAAA queries, and a resolver that answers them answers it in about the
// same time: twice the time the first address answer took leaves room for
// a recursive resolver's extra round trips (its cache held the A record, not
// the HTTPS one), with httpsGraceMin for an address answer from a cache in
// a millisecond, when the HTTPS one still needs the authoritative servers
// (a few hundred milliseconds at most, over the Internet). Beyond
// httpsGraceMax (the draft's recommended maximum Connection Attempt Delay) a
// dial would wait longer for a record than it gives an attempt: an answer
// that late is no answer. A resolver, home router or firewall that drops
// HTTPS queries would otherwise hold an ECH dial for the stub resolver's
// whole timeout (5 s times 2 attempts with resolv.conf's defaults).
const (
	httpsGraceMin = 250 * time.Millisecond
	httpsGraceMax = 2 * time.Second
)

// httpsGrace returns how long after the first address answer, which took
// took, the HTTPS answer is waited for (see httpsGraceMin).
func httpsGrace(took time.Duration) time.Duration {
	return min(max(2*took, httpsGraceMin), httpsGraceMax)
}
