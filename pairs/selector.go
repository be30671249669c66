package pairs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/svcb"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// Query is one request for the pairs to a destination, as the dialer makes it.
type Query struct {
	// Network is "tcp", "tcp4", "tcp6", "udp", "udp4" or "udp6"; the digit
	// restricts the address family. The empty string means "tcp".
	Network string
	// Host is a name or an IP literal without brackets; an IPv6 literal may carry
	// a zone ("fe80::1%eth0"). The empty host is the local system (::1 and
	// 127.0.0.1), as for net.Dial.
	Host string
	// Port is the destination port.
	Port uint16
	// Local, when valid, restricts the sources to that address (an unspecified
	// address restricts only the family); its port is kept in Pair.Src. The zero
	// value allows any source.
	Local netip.AddrPort
	// Resolver resolves Host when it is a name; nil means the Selector's.
	// With its StrictErrors set, both families' answers are waited for, and
	// a lookup of one that fails temporarily fails the query, as it fails
	// net.Dialer's.
	Resolver *net.Resolver
	// TLS says that the dial succeeds only with a TLS handshake over the
	// connection: pairs whose path ends at a TCP-terminating middlebox
	// (Pair.Middlebox), and the other pairs of their interface, are then
	// tried after the others of their group.
	TLS bool
	// HTTPS asks Stream for the host's HTTPS records (RFC 9460) beside its A
	// and AAAA records (WithHTTPSRecords asks for every query). ALPN is the
	// client's application protocols, which an endpoint's ALPN set must share;
	// empty means h2 and http/1.1.
	HTTPS bool
	ALPN  []string
	// ECH says that the dial's TLS handshakes use Encrypted Client Hello
	// where an HTTPS record offers it (dialer.PairDialer.ECH). When every
	// usable record does, a Stream leaves out the host's addresses that no
	// record covers, and its Service refuses them, so that the dial never
	// falls back to a cleartext ClientHello (draft-ietf-tls-svcb-ech: the
	// client is SVCB-reliant). An HTTPS lookup that fails, or does not
	// answer within a grace after the addresses (250 ms to 2 s: see
	// Stream.Service), leaves the dial as without records, without ECH: our
	// DNS is not protected, and only with protected DNS may a failed SVCB
	// resolution abort the connection. The Selector remembers for 5 minutes
	// a resolver whose HTTPS queries went unanswered: its dials then wait
	// for no HTTPS answer (neither the grace nor the Resolution Delay), while
	// one lookup at a time checks whether it answers again.
	ECH bool

	// streaming is set on a Stream's queries: its ranking may not wait for the
	// NAT64 prefix's DNS discovery (the Stream waits for it as for an answer).
	streaming bool
}

// Selector ranks the (source, destination) pairs to a destination from what it
// knows of the host (a netstate.Watcher) and of the paths (a probe.Store, fed by
// Report and by its background prober). Its methods are safe for concurrent use.
// Close releases it.
//
// A Selector owns the goroutines it runs: the netstate Monitor it starts (unless
// WithWatcher), its prober and its sharer. Suspend stops them and keeps what was
// learned; the next call that needs them starts them again, and WithIdleStop makes
// a Selector do that by itself when unused.
type Selector struct {
	cfg      config
	log      *zap.Logger
	store    *probe.Store
	life     lifecycle
	dns64    *dns64Discovery // RFC 7050
	solicits routerSolicits  // Router Solicitations for a NAT64 prefix

	mu   sync.Mutex           // held to make a new view
	view atomic.Pointer[view] // of the newest snapshot ranked with

	scratch workspaces     // of the rankings, kept between calls
	sticky  sticky         // the first pair of recent queries, for hysteresis
	orders  orders         // the racing orders of recent queries (see Attempts)
	stub    stubConf       // the HTTPS lookups' resolv.conf
	quiet   quietResolvers // the resolvers that drop HTTPS queries

	// shared is set on Default's Selector, which the whole process uses:
	// Close only suspends it.
	shared bool
}

// New returns a Selector. Unless WithWatcher is given it starts a netstate Monitor
// of its own, and unless WithoutProbing it starts a background prober (quiet
// unless WithEagerProbing; see the package documentation); New does not wait for
// either to learn anything (see Init).
func New(opts ...Option) (*Selector, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Selector{cfg: cfg, log: cfg.log.Named("pairs")}
	s.dns64 = newDNS64Discovery(s.lookupFor(nil), s.log)
	s.life.born = time.Now()
	s.store = probe.NewStore(probe.WithLogger(cfg.log), probe.WithNAT64Prefixes(s.unseenNAT64Prefixes))
	s.life.mu.Lock()
	defer s.life.mu.Unlock()
	if err := s.startLocked(); err != nil {
		return nil, err
	}
	s.life.touch()
	return s, nil
}

// unseenNAT64Prefixes returns the NAT64 prefixes the Store cannot read from its
// snapshots: the configured ones and those the RFC 7050 discovery found last
// (see probe.WithNAT64Prefixes).
func (s *Selector) unseenNAT64Prefixes() []netip.Prefix {
	var found []netip.Prefix
	if c := s.dns64.answered(""); c != nil {
		found = c.prefixes
	}
	out := make([]netip.Prefix, 0, len(s.cfg.pref64)+len(found))
	for _, c := range s.cfg.pref64 {
		out = append(out, c.Prefix)
	}
	return append(out, found...)
}

// Init waits until the Selector has a first snapshot of the host and, when probing,
// the result of a first probe round that includes the default gateways (asking for
// the status flags, which a quiet prober probes only from then on), or until ctx
// is done. It is never required: without it the first ranking uses the RFC 6724
// rules and the default latencies. A Suspend while it waits makes it wait for
// the round of the goroutines started again; after Close, a probing Selector's
// Init fails with net.ErrClosed.
func (s *Selector) Init(ctx context.Context) error {
	for {
		err := s.waitRound(ctx)
		if !errors.Is(err, net.ErrClosed) || s.closed() {
			return err
		}
	}
}

// waitRound is one engine's part of Init: its prober's first round.
func (s *Selector) waitRound(ctx context.Context) error {
	e := s.use()
	defer s.release()
	s.wantStatus(e)
	switch {
	case e.prober != nil:
		return e.prober.WaitRound(ctx)
	case s.cfg.probing && s.closed():
		return net.ErrClosed
	}
	return ctx.Err()
}

// closed reports whether Close was called.
func (s *Selector) closed() bool {
	s.life.mu.Lock()
	defer s.life.mu.Unlock()
	return s.life.closed
}

// wantStatus records that the status flags were asked for: from now on the
// prober, this engine's and the next ones', probes the default gateways too.
func (s *Selector) wantStatus(e *engine) {
	s.life.mu.Lock()
	s.life.status = true
	s.life.mu.Unlock()
	if e.prober != nil {
		e.prober.WantStatus()
	}
}

// Status returns the connectivity detected so far, with the prototype's flags,
// and the NAT64 prefixes known (from RAs, DNS or configuration). Asking for it
// makes a quiet prober probe the default gateways from then on, so that later
// calls have the flags that depend on them.
func (s *Selector) Status() probe.Status {
	e := s.use()
	defer s.release()
	s.wantStatus(e)
	st := s.store.Status()
	s.addNAT64(&st, e.watcher, s.currentView(e.watcher))
	return st
}

// ProberStats returns the counters of the Selector's background prober (rounds,
// connects started and under way, targets), so that tools can show the probe
// traffic. It is the zero value when probing is off or the prober is stopped.
func (s *Selector) ProberStats() probe.ProberStats {
	s.life.mu.Lock()
	defer s.life.mu.Unlock()
	if s.life.eng == nil || s.life.eng.prober == nil {
		return probe.ProberStats{}
	}
	return s.life.eng.prober.Stats()
}

// Report records the outcome of a connect attempt over a pair, so that later
// rankings use it. Dialers call it for every attempt. A quiet prober learns
// from it which destinations the program dials (see want).
func (s *Selector) Report(o probe.Outcome) {
	s.store.Report(o)
	if o.Active || s.cfg.eager || o.Dst.Addr().IsLoopback() {
		return
	}
	if e := s.life.running.Load(); e != nil && e.prober != nil {
		e.prober.Want(o.Dst)
	}
}

// Get returns the pairs to reach host on port over TCP, ranked best first. An
// unknown name gives an empty list and a *net.DNSError whose IsNotFound is set.
//
// Of a name's addresses, the first 16 of each family, in the resolver's order,
// are paired (fewer on a host with more than 32 addresses, so that a family
// has about 512 pairs at most): a name may have hundreds, each pair costs a
// route decision, and no dial reaches more than a few dozen pairs in its time.
// Attempts, Stream and LookupNetIP take the same.
func (s *Selector) Get(ctx context.Context, host string, port int) ([]Pair, error) {
	p, err := checkPort(port)
	if err != nil {
		return nil, err
	}
	return s.ranked(ctx, Query{Network: "tcp", Host: host, Port: p})
}

// Attempts returns the pairs for q ranked and then put in racing order (see
// Order, with the Selector's First Address Family Count): the order in which a
// dialer should start its attempts. An unknown name gives a *net.DNSError with
// IsNotFound set. When the rules leave no pair at all (where Get says
// *NoPairError), Attempts returns the pairs net.Dialer would dial instead, one
// per destination, marked Fallback (see fallbackPairs): a dialer is never left
// with less to try than net.Dialer.
//
// The racing order of a query is remembered, and a later call for the same
// query and destinations (resolved again) gets it back without a ranking, as
// long as nothing it was made from changed: the snapshot generation, what the
// Selector's Store knows (probe.Store.StateVersion: the sources' health, the
// pairs failing, the translators and middleboxes; loopback pairs depend on
// none of it) and the verdicts that expire (negative route verdicts, middlebox
// ones). Latencies that only moved (probe.Store.Version) end it after a
// second: a busy program's dials, each reporting an RTT sample, would
// otherwise rank every time.
func (s *Selector) Attempts(ctx context.Context, q Query) ([]Pair, error) {
	q.Local = unmapLocal(q.Local)
	r, err := s.rankQuery(ctx, q, s.store, true)
	if npe, ok := err.(*NoPairError); ok {
		return s.fallbackPairs(ctx, q, npe), nil
	}
	return r, err
}

// unmapLocal returns a local address with an IPv4-mapped IPv6 address as the
// IPv4 address it maps, as net.Dialer takes such a LocalAddr (a 16-byte net.IP
// made into a netip.Addr is one).
func unmapLocal(l netip.AddrPort) netip.AddrPort {
	if l.Addr().Is4In6() {
		return netip.AddrPortFrom(l.Addr().Unmap(), l.Port())
	}
	return l
}

// order returns ranked in racing order (Order, with the Selector's First
// Address Family Count). For a TLS dial, the other pairs of an interface that
// has a pair through a middlebox (an intercepting uplink takes every source
// on it) come after all the others, and the pairs through a middlebox last,
// each group in its own racing order.
func (s *Selector) order(ranked []Pair, tls bool) []Pair {
	n := s.cfg.firstFamilyCount
	if !tls || !slices.ContainsFunc(ranked, func(p Pair) bool { return p.Middlebox }) {
		return Order(ranked, n)
	}
	intercepted := map[string]bool{}
	for _, p := range ranked {
		if p.Middlebox && p.Interface != "" {
			intercepted[p.Interface] = true
		}
	}
	var clear, near, through []Pair
	for _, p := range ranked {
		switch {
		case p.Middlebox:
			through = append(through, p)
		case intercepted[p.Interface]:
			near = append(near, p)
		default:
			clear = append(clear, p)
		}
	}
	return slices.Concat(Order(clear, n), Order(near, n), Order(through, n))
}

// LookupNetIP looks host up like (*net.Resolver).LookupNetIP for network "ip",
// "ip4" or "ip6", and returns the addresses ordered by the best pair of each.
// Addresses without any usable pair follow, in the resolver's order, as do
// those beyond the first of their family that a query pairs up (see Get). An
// IPv4 address reached through a NAT64 comes as the synthesized IPv6 address
// of its best pair, the IPv4 address itself later.
func (s *Selector) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	base, f, err := parseNetwork(network)
	if err != nil || base != "ip" {
		return nil, net.UnknownNetworkError(network)
	}
	ws := s.scratch.get()
	defer s.scratch.put(ws)
	q := Query{Network: network, Host: host}
	dsts, err := s.destinations(ctx, q, f, ws.lits[:0])
	if err != nil {
		return nil, err
	}
	e := s.use()
	defer s.release()
	s.want(e, q, dsts)
	ps, _ := s.rankWith(ctx, e.watcher, q, boundDestinations(dsts, s.currentView(e.watcher)), s.store, ws)
	ps = s.sticky.apply(stickyKey(q), ps, s.cfg.bias)
	out := make([]netip.Addr, 0, len(dsts))
	for _, p := range ps {
		out = append(out, p.Dst.Addr())
	}
	out = svcb.CompactAddrs(out) // ranked: a few per family (see boundDestinations)
	ranked := out
	for _, ip := range dsts { // distinct already
		if !slices.Contains(ranked, ip) && !containsUnzoned(ranked, ip) {
			out = append(out, ip)
		}
	}
	return out, nil
}

// containsUnzoned reports whether s holds ip with a zone added.
func containsUnzoned(s []netip.Addr, ip netip.Addr) bool {
	for _, x := range s {
		if x.WithZone("") == ip {
			return true
		}
	}
	return false
}

// ranked resolves q and ranks its pairs.
func (s *Selector) ranked(ctx context.Context, q Query) ([]Pair, error) {
	return s.rankedWith(ctx, q, s.store)
}

// rankedWith is ranked with the knowledge k.
func (s *Selector) rankedWith(ctx context.Context, q Query, k knowledge) ([]Pair, error) {
	return s.rankQuery(ctx, q, k, false)
}

// rankQuery resolves q and ranks its pairs with the knowledge k; when racing
// (Attempts, k the Selector's Store), it puts them in racing order (see order),
// reusing the order remembered for q when nothing it was made from changed,
// and remembering a new one.
func (s *Selector) rankQuery(ctx context.Context, q Query, k knowledge, racing bool) ([]Pair, error) {
	_, f, err := parseNetwork(q.Network)
	if err != nil {
		return nil, err
	}
	ws := s.scratch.get()
	defer s.scratch.put(ws)
	e := s.use() // before the destinations: their RFC 7050 lookup runs with the engine
	defer s.release()
	dsts, err := s.destinations(ctx, q, f, ws.lits[:0])
	if err != nil {
		return nil, err
	}
	v := s.currentView(e.watcher)
	dsts = boundDestinations(dsts, v)
	if racing || s.cfg.eager {
		s.want(e, q, dsts) // a dial's: not a Get's (see want)
	}
	key := orderKeyOf(q)
	dns64 := s.dns64Basis(v)
	if racing {
		if ps, ok := s.orders.get(key, dsts, v, dns64, s.store); ok {
			return ps, nil
		}
	}
	// Before ranking: a change meanwhile makes the order stale.
	made, state, version := time.Now(), s.store.StateVersion(), s.store.Version()
	ps, why, b := s.rankIn(ctx, e.watcher, v, q, dsts, k, ws, !racing)
	if len(ps) == 0 {
		err := &NoPairError{Host: q.Host, Reasons: why, dsts: slices.Clone(dsts)}
		s.log.Debug("no usable pair", zap.String("host", q.Host), zap.Strings("reasons", why))
		return nil, err
	}
	ps = s.sticky.apply(stickyKey(q), ps, s.cfg.bias)
	if !racing {
		return ps, nil // the caller's own (in.keep)
	}
	ps = s.order(ps, q.TLS) // a new slice: ps was the workspace's
	if b.cacheable && (dns64 != nil || !v.nat64.needsDNS()) {
		// On a network whose NAT64 prefix comes from an RFC 7050 lookup, only
		// an order made after that lookup answered is remembered, with it.
		s.orders.put(key, dsts, orderBasis{view: v.self, usesStore: b.usesStore, version: version, state: state, made: made, until: b.until, dns64: dns64}, ps)
	}
	return ps, nil
}

// destinations returns the addresses of q.Host allowed by f: the literal (appended
// to lits, which has room for two), or the resolver's answer.
// Then, as net.Dialer does with its LocalAddr, a local address of one family
// keeps only the destinations of that family (and unspecified ones).
func (s *Selector) destinations(ctx context.Context, q Query, f family, lits []netip.Addr) ([]netip.Addr, error) {
	dsts, err := s.hostAddrs(ctx, q, f, lits)
	if err != nil {
		return nil, err
	}
	return filterLocal(dsts, q.Local)
}

func (s *Selector) hostAddrs(ctx context.Context, q Query, f family, lits []netip.Addr) ([]netip.Addr, error) {
	if q.Host == "" {
		return filterFamily(append(lits, netip.IPv6Loopback(), netip.AddrFrom4([4]byte{127, 0, 0, 1})), f, q.Host)
	}
	ip, name, err := parseHost(q.Host)
	if err != nil {
		return nil, err
	}
	if ip == netip.IPv6Unspecified() {
		// As net.Dialer (Go issue 18806): where "::" can be bound but not
		// connected to, or for an IPv4 network, 0.0.0.0 too.
		return filterFamily(append(lits, ip, netip.IPv4Unspecified()), f, q.Host)
	}
	if ip.IsValid() {
		return filterFamily(append(lits, ip), f, q.Host)
	}
	local := f.v6 && f.v4 && s.stub.local(name, time.Now())
	addrs, err := resolve(ctx, s.lookupFor(q.Resolver), name, f, s.cfg.resolutionDelay, s.strictErrors(q.Resolver), local)
	if err != nil || !f.v4 || !f.v6 || !desynthesizes(q) {
		return addrs, err
	}
	// DNS64 answers under a NAT64 prefix stand for IPv4 addresses: one server
	// is one destination, synthesized again per link where needed. The
	// prefixes are those the ranking takes: nat64Prefixes waits for the RFC
	// 7050 discovery when an answer is IPv4, as the ranking would (known ones
	// alone would leave a DNS64 answer beside its IPv4 address synthesized).
	w := s.watcher()
	prefs := s.nat64Prefixes(ctx, w, s.currentView(w), addrs)
	return desynthesize(addrs, s.desynthesisPrefixes(s.currentView(w), prefs)), nil
}

// desynthesizes reports whether q's DNS64 answers are taken as the IPv4
// servers they stand for: not when q's local address is IPv6, which dials
// them as they are (IPv4 destinations are not for it, as for net.Dialer).
func desynthesizes(q Query) bool {
	l := q.Local.Addr()
	return !l.Is6() || l.IsUnspecified()
}

func filterFamily(ips []netip.Addr, f family, host string) ([]netip.Addr, error) {
	out := ips[:0]
	for _, ip := range ips {
		if f.allows(ip) {
			out = append(out, ip)
		}
	}
	if len(out) == 0 {
		return nil, &net.AddrError{Err: "no suitable address found", Addr: host}
	}
	return out, nil
}

func (s *Selector) lookupFor(r *net.Resolver) lookupFunc {
	switch {
	case r != nil:
		return r.LookupNetIP
	case s.cfg.lookup != nil:
		return s.cfg.lookup
	case s.cfg.resolver != nil:
		return s.cfg.resolver.LookupNetIP
	}
	return lookupDefault
}

// strictErrors reports whether the resolver of the lookups with r (nil: the
// Selector's) has StrictErrors set: a lookup of one family that fails
// temporarily then fails the name's, as with net.Dialer (see strictError).
// The tests' lookup function has none.
func (s *Selector) strictErrors(r *net.Resolver) bool {
	switch {
	case r != nil:
		return r.StrictErrors
	case s.cfg.lookup != nil:
		return false
	}
	return s.resolver().StrictErrors
}

// lookupDefault looks up with net.DefaultResolver as it is at the call.
func lookupDefault(ctx context.Context, network, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, network, host)
}

// resolver returns the resolver of the queries that name none: WithResolver's,
// else net.DefaultResolver as it is now.
func (s *Selector) resolver() *net.Resolver {
	if s.cfg.resolver != nil {
		return s.cfg.resolver
	}
	return net.DefaultResolver
}

// currentView returns the view of w's current snapshot, built once per snapshot
// generation.
func (s *Selector) currentView(w netstate.Watcher) *view {
	snap := w.Snapshot()
	if v := s.view.Load(); v != nil && v.snap.Generation == snap.Generation {
		return v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.view.Load()
	if v == nil || v.snap.Generation != snap.Generation {
		v = newViewAfter(v, snap, s.cfg.policy)
		s.view.Store(v)
	}
	return v
}

// rankWith forms and ranks the pairs of q to dsts, as the watcher w sees the host,
// with the knowledge k and the scratch ws. When there are none, why says for each
// destination what excluded it.
func (s *Selector) rankWith(ctx context.Context, w netstate.Watcher, q Query, dsts []netip.Addr, k knowledge, ws *workspace) ([]Pair, []string) {
	ps, why, _ := s.rankIn(ctx, w, s.currentView(w), q, dsts, k, ws, false)
	return ps, why
}

// rankBasis is what a ranking depended on besides its view and the knowledge's
// version (see orderBasis).
type rankBasis struct {
	usesStore bool      // a candidate's source is one the knowledge may know (not loopback)
	cacheable bool      // every route decision could be made
	until     time.Time // when the earliest expiring verdict used expires; zero: none
}

// rankIn is rankWith with the view v of w's snapshot, and says what the
// ranking depended on. The pairs are in ws's memory, unless keep asks for
// memory of their own (see rank).
func (s *Selector) rankIn(ctx context.Context, w netstate.Watcher, v *view, q Query, dsts []netip.Addr, k knowledge, ws *workspace, keep bool) ([]Pair, []string, rankBasis) {
	in := ws.input(v.srcs)
	_, f, _ := parseNetwork(q.Network)
	in.only4 = !f.v6
	if f.v6 {
		// Synthesized pairs are IPv6: not for "tcp4". A "tcp6" query has
		// no IPv4 destination to synthesize (as net.Dialer's, it takes IPv6
		// addresses only).
		if q.streaming {
			in.pref64 = s.knownPREF64s(v)
		} else {
			in.pref64 = s.nat64Prefixes(ctx, w, v, dsts)
		}
	}
	why := v.candidates(ctx, w, in, dsts, q.Local.Addr(), k.Translators(), s.cfg.policy)
	in.k, in.bias = k, s.cfg.bias
	in.srcPort, in.dstPort, in.keep = q.Local.Port(), q.Port, keep
	in.now = time.Now()
	ps := rank(in, ws)
	b := rankBasis{cacheable: !in.routes.uncertain, until: in.routes.until}
	if !in.until.IsZero() && (b.until.IsZero() || in.until.Before(b.until)) {
		b.until = in.until
	}
	for _, c := range in.cands {
		if in.srcs[c.src].class != netstate.Loopback {
			b.usesStore = true
			break
		}
	}
	return ps, why, b
}

// NoPairError is the error of Get when a destination was found but no (source,
// destination) pair may be tried.
type NoPairError struct {
	// Host is the host asked for.
	Host string
	// Reasons says, per destination address, why it has no pair.
	Reasons []string

	dsts []netip.Addr // the destinations, for Attempts' fallback
}

func (e *NoPairError) Error() string {
	msg := "pairs: no usable pair for " + e.Host
	for i, r := range e.Reasons {
		if i == 0 {
			msg += ": "
		} else {
			msg += "; "
		}
		msg += r
	}
	return msg
}

var _ error = (*NoPairError)(nil)
