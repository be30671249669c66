package pairs

import (
	"cmp"
	"context"
	"net"
	"os"
	"slices"
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

// quietFor is how long a resolver whose HTTPS queries went unanswered is
// taken for one that drops them (see quietResolvers): dropping is what a
// resolver, a home router's DNS proxy or a firewall does to every query of
// that type, for as long as it is configured so, and each dial meanwhile
// renews or ends it (its lookup in the background answers or not). Five
// minutes bound what one that stopped dropping while no dial was made costs:
// the next dial's lookup hears its answer.
const quietFor = 5 * time.Minute

// maxQuietResolvers is how many resolvers quietResolvers remembers: a
// program uses its Selector's and those of a few dialers.
const maxQuietResolvers = 8

// quietResolvers remembers the resolvers whose HTTPS queries went
// unanswered (no answer within the grace, or a timeout, while A or AAAA of
// the same name answered; see httpsGrace), for quietFor: their Streams wait
// for no HTTPS answer (neither the Resolution Delay nor, with ECH, the
// grace) and go on as with no record. One lookup at a time per resolver
// still runs, in the background, to learn whether answers came back: any
// answer (records, none, NXDOMAIN, a fast SERVFAIL) ends the memory at once.
// A resolver is a query's Resolver, nil for the Selector's own. It needs no
// goroutine: entries expire when looked at.
type quietResolvers struct {
	mu     sync.Mutex
	rs     []quietResolver // at most maxQuietResolvers
	closed bool            // the Selector was closed: no lookup learns any more
}

// quietResolver is what quietResolvers knows of one resolver.
type quietResolver struct {
	r       *net.Resolver
	until   time.Time          // taken as dropping HTTPS queries until then
	learner *Stream            // the Stream whose HTTPS lookup learns; nil: none
	cancel  context.CancelFunc // ends learner's lookup
	done    <-chan struct{}    // closed when learner's lookup has ended
}

// find returns the index of r's entry, or -1.
func (q *quietResolvers) find(r *net.Resolver) int {
	for i := range q.rs {
		if q.rs[i].r == r {
			return i
		}
	}
	return -1
}

// entry returns r's entry, made if there is none (when all are taken, in
// place of the one that expires first, an expired one if any, unless every
// one has a learner: then nil). q.mu is held.
func (q *quietResolvers) entry(r *net.Resolver) *quietResolver {
	if i := q.find(r); i >= 0 {
		return &q.rs[i]
	}
	if len(q.rs) < maxQuietResolvers {
		q.rs = append(q.rs, quietResolver{r: r})
		return &q.rs[len(q.rs)-1]
	}
	oldest := -1
	for i := range q.rs {
		if q.rs[i].learner == nil && (oldest < 0 || q.rs[i].until.Before(q.rs[oldest].until)) {
			oldest = i
		}
	}
	if oldest < 0 {
		return nil
	}
	q.rs[oldest] = quietResolver{r: r}
	return &q.rs[oldest]
}

// quiet reports whether r is taken for a resolver that drops HTTPS queries.
func (q *quietResolvers) quiet(r *net.Resolver, now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := q.find(r)
	return i >= 0 && now.Before(q.rs[i].until)
}

// unanswered records that an HTTPS lookup through r went unanswered.
func (q *quietResolvers) unanswered(r *net.Resolver, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e := q.entry(r); e != nil {
		e.until = now.Add(quietFor)
	}
}

// answered records that an HTTPS lookup through r was answered: r is no
// longer taken for a resolver that drops HTTPS queries.
func (q *quietResolvers) answered(r *net.Resolver) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := q.find(r); i >= 0 {
		q.rs[i].until = time.Time{}
		if q.rs[i].learner == nil {
			q.rs = slices.Delete(q.rs, i, i+1)
		}
	}
}

// learn makes st's HTTPS lookup, which cancel ends and which closes done
// when it has ended, the one that learns whether r answers, unless another
// does or the Selector was closed; it reports whether it is.
func (q *quietResolvers) learn(r *net.Resolver, st *Stream, cancel context.CancelFunc, done <-chan struct{}) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	e := q.entry(r)
	if e == nil || (e.learner != nil && e.learner != st) {
		return false
	}
	e.learner, e.cancel, e.done = st, cancel, done
	return true
}

// learned records that st's HTTPS lookup, the one that learned about r,
// ended.
func (q *quietResolvers) learned(r *net.Resolver, st *Stream) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := q.find(r); i >= 0 && q.rs[i].learner == st {
		q.rs[i].learner, q.rs[i].cancel, q.rs[i].done = nil, nil, nil
		if q.rs[i].until.IsZero() {
			q.rs = slices.Delete(q.rs, i, i+1)
		}
	}
}

// stop ends the lookups that learn and waits for them (the Selector stops
// its goroutines); for good when closed: a Stream still open then (a dial in
// flight) no longer leaves its lookup running to learn when it is closed.
func (q *quietResolvers) stop(closed bool) {
	q.mu.Lock()
	q.closed = q.closed || closed
	var running []<-chan struct{}
	for _, e := range q.rs {
		if e.cancel != nil {
			e.cancel()
			running = append(running, e.done)
		}
	}
	q.mu.Unlock()
	for _, done := range running {
		<-done // the lookup's end takes q.mu (learned): not held here
	}
}
