package pairs

import (
	"context"
	"net"
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

// stubConf is the stub resolver's configuration, read from resolv.conf at
// most every resolvConfTTL.
type stubConf struct {
	mu   sync.Mutex
	conf *dnsstub.Config // nil when the last read failed
	read time.Time
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
