package pairs

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/getapr/getapr/internal/dnsstub"
	"github.com/getapr/getapr/internal/svcb"
)

// Stream is the pairs of one dial in racing order as its DNS answers arrive
// (Happy Eyeballs v3, draft-ietf-happy-happyeyeballs-v3): the order of every
// pair known so far, which grows when AAAA arrives after A, when HTTPS
// records arrive, and then the addresses of their targets. A pair that Next
// has handed out stays handed out; the others are placed as the sorting rules
// place them in the complete list, as if they had all been known from the
// start (so that an IPv4 pair arriving while IPv6 attempts run goes next,
// families interleaved). Pairs whose address has left the answers (a hint
// that the A or AAAA answer did not confirm) are dropped if not yet handed
// out.
//
// The order is by HTTPS service group first (every pair of a lower
// SvcPriority before any of a higher one; then an AliasMode target's
// addresses, and last the host's own that no record covers),
// then as Attempts orders a ranking. Its methods are safe for concurrent use.
// Close stops the lookups still running; the dialer closes a Stream when its
// race ends.
type Stream struct {
	sel     *Selector
	q       Query
	name    string // the host, a name; "" for a fixed Stream
	fam     family
	prefer6 bool
	strict  bool // the resolver's StrictErrors: see waitStart
	lookup  lookupFunc
	https   httpsFunc // nil: no HTTPS records asked
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu       sync.Mutex
	ans      *svcb.Answers
	origin   [2]*answer // the host's A ([0]) and AAAA answers, once in
	traced   func([]netip.Addr, error)
	caller   context.Context // the dial's: a lookup it ended is the name's error (endedLookup)
	untraced int             // the host's A and AAAA lookups not ended; traced is called at 0
	running  int             // lookups not ended
	began    time.Time       // when the lookups started
	// unanswered is when the host's A lookup failed for servers that did
	// not answer (see unanswered), if it did: its AAAA lookup is waited for
	// no more than the Resolution Delay after.
	unanswered time.Time
	first      time.Time // when the first address (or hint) arrived
	order      []Pair    // every pair known, in racing order
	taken      map[pairKey]bool
	// skip is how many pairs at the start of order are taken, and left how
	// many of order are not: Next, Peek and Left do not scan what is taken
	// (a name may have thousands of addresses).
	skip, left int
	changed    chan struct{} // closed, and replaced, at every change
	svcDone    chan struct{} // closed when the HTTPS answer is in, given up on, or none is asked
	// The HTTPS lookup runs under a context of its own, which hcancel ends:
	// Close may leave it running to learn whether its resolver answers (see
	// quietResolvers). hdone is closed when it has ended (nil: none ran).
	lctx     context.Context // the address lookups' (and the ranking's)
	hcancel  context.CancelFunc
	hdone    chan struct{}
	hrunning bool // the HTTPS lookup runs
	// gaveUp is set when the HTTPS answer is no longer waited for, nor used:
	// its resolver drops HTTPS queries (quietResolvers), or gave no answer
	// within the grace after the addresses (httpsGrace, which grace ends).
	gaveUp   bool
	grace    *time.Timer
	learning bool // the HTTPS lookup is the one that learns about its resolver
	closed   bool // Close was called
	detached bool // Close left the HTTPS lookup running, to learn
	asked    map[string]bool
	// need4 is set once an A answer has an address that a NAT64 could
	// reach; solicited once the Stream asked the routers for a prefix.
	need4, solicited bool
}

// pairKey identifies a pair in a Stream.
type pairKey struct{ src, dst netip.AddrPort }

func keyOf(p Pair) pairKey { return pairKey{p.Src, p.Dst} }

// Stream resolves q.Host and returns the stream of its pairs once connecting
// can start: when there are pairs and the preferred family's answer (IPv6,
// unless only IPv4 has a default route, with a gateway or not) and, if asked, the
// HTTPS answer are in; or the Selector's Resolution Delay after the first
// address arrived; or when every lookup has ended. An HTTPS answer that has
// not come within a grace after the first address (see Service) is given
// up on, and one from a resolver the Selector knows to drop HTTPS queries is
// not waited for at all: the Stream goes on as with no record. The lookups
// go on in the background, adding pairs, until they end or Close. For an IP
// literal or an empty host there is nothing to look up, and for a name the
// system answers for itself (the hosts file, localhost) one lookup answers
// both families at once: the Stream holds what Attempts returns. Its errors
// are those of Attempts.
//
// An httptrace.ClientTrace in ctx sees one DNSStart and one DNSDone for the
// host, as with net.Dialer: the DNSDone when its A and AAAA lookups have
// ended, with their addresses (IPv6 first), which may be after the first
// attempts have started.
func (s *Selector) Stream(ctx context.Context, q Query) (*Stream, error) {
	_, f, err := parseNetwork(q.Network)
	if err != nil {
		return nil, err
	}
	q.Local = unmapLocal(q.Local)
	ip, name, err := parseHost(q.Host)
	local := err == nil && name != "" && s.stub.local(name, time.Now())
	if q.Host == "" || ip.IsValid() || err != nil || f.v6 && f.v4 && local {
		ps, err := s.Attempts(ctx, q)
		if err != nil {
			return nil, err
		}
		return s.fixedStream(q, ps), nil
	}
	st := s.newStream(q, name, f, local)
	tctx, done := traceLookup(ctx, q.Host)
	lctx, cancel := context.WithCancel(tctx)
	st.cancel, st.traced, st.caller = cancel, done, ctx
	st.start(lctx)
	err = st.waitStart()
	if err == nil {
		err = st.endedLookup()
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// endedLookup returns, when the dial's context has ended, the error of the
// host's A or AAAA lookup that it ended, once both have ended (they end with
// it): the dial fails as net.Dialer's one lookup would, not over the family
// that answered first (see endedLookup in resolve.go).
func (st *Stream) endedLookup() error {
	if st.caller.Err() == nil {
		return nil
	}
	for {
		st.mu.Lock()
		left, ch, a4, a6 := st.untraced, st.changed, st.origin[0], st.origin[1]
		st.mu.Unlock()
		if left == 0 {
			return endedLookup(st.caller, a6, a4)
		}
		<-ch
	}
}

// fixedStream is a Stream of ps and nothing more.
func (s *Selector) fixedStream(q Query, ps []Pair) *Stream {
	st := &Stream{sel: s, q: q, taken: map[pairKey]bool{},
		changed: make(chan struct{}), svcDone: make(chan struct{}), cancel: func() {}}
	st.setOrder(ps)
	close(st.svcDone)
	return st
}

// newStream returns the Stream of q to the name host, families f, with
// nothing asked yet; local says the system answers for host itself (see
// stubConf.local).
func (s *Selector) newStream(q Query, host string, f family, local bool) *Stream {
	q.streaming = true
	st := &Stream{sel: s, q: q, name: host, fam: f, lookup: s.lookupFor(q.Resolver), strict: s.strictErrors(q.Resolver),
		taken: map[pairKey]bool{}, changed: make(chan struct{}), svcDone: make(chan struct{}),
		asked: map[string]bool{}}
	if (q.HTTPS || s.cfg.https) && isDomainName(host) && !local {
		st.https = s.httpsLookup(q.Resolver)
	}
	// The draft's preferred family: IPv6 where both have a default route,
	// else the one that has (a gateway or not: "default dev ppp0", "::/0 dev
	// wg0"), as the view worked out once for the snapshot.
	v := s.currentView(s.watcher())
	st.prefer6 = f.v6 && (v.default6 || !v.default4 || !f.v4)
	if l := q.Local.Addr(); l.IsValid() && !l.IsUnspecified() && (l.Is6() && f.v6 || l.Is4() && f.v4) {
		st.prefer6 = l.Is6() // a source of one family has pairs to that family only
	}
	st.ans = svcb.NewAnswers(host, q.Port, q.ALPN)
	if q.ECH {
		st.ans.UseECH()
	}
	// A resolver known to drop HTTPS queries: no answer is waited for, and
	// the dial goes on as with no record (our DNS is not protected: an
	// unanswered lookup is a failed one, and the draft lets only protected
	// DNS abort on it). A lookup may still run, to learn (see start).
	st.gaveUp = st.https != nil && s.quiet.quiet(q.Resolver, time.Now())
	if st.https == nil || st.gaveUp {
		st.ans.SetServices(host, nil)
		close(st.svcDone)
	}
	return st
}

// start sends the queries, in the draft's order: HTTPS, AAAA, A.
func (st *Stream) start(ctx context.Context) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.began, st.lctx = time.Now(), ctx
	if st.https != nil {
		st.startHTTPS(ctx)
	}
	https := st.running
	st.askAddrs(ctx, st.name)
	st.untraced = st.running - https
	st.awaitNAT64(ctx)
}

// startHTTPS starts the HTTPS lookup, under a context of its own that the
// end of ctx ends too, unless Close left the lookup running (see Close).
// When the Stream gave up on the answer from the start (its resolver drops
// HTTPS queries), the lookup runs only if no other is learning whether that
// resolver answers, and the Stream does not wait for it. st.mu is held.
func (st *Stream) startHTTPS(ctx context.Context) {
	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	if st.gaveUp {
		if !st.sel.quiet.learn(st.q.Resolver, st, cancel, done) {
			cancel()
			return
		}
		st.learning = true
	} else {
		st.running++
	}
	stop := context.AfterFunc(ctx, func() {
		st.mu.Lock()
		detached := st.detached
		st.mu.Unlock()
		if !detached {
			cancel()
		}
	})
	st.hcancel, st.hdone, st.hrunning = cancel, done, true
	go func() {
		defer close(done)
		defer stop()
		st.lookupHTTPS(hctx)
	}()
}

// awaitNAT64 makes the NAT64 prefix's DNS discovery (RFC 7050) one more
// answer the Stream waits for, when an IPv6-only link lacks a prefix, the host
// has no native IPv4 and the discovery has not ended: an IPv4 address of the
// name may need it. A dial that has pairs without it does not wait for it.
// Otherwise it only starts the discovery (which looks an old answer up again).
// When the discovery ends, the routers may be asked too (see solicitRA).
// st.mu is held.
func (st *Stream) awaitNAT64(ctx context.Context) {
	s := st.sel
	f := &s.currentView(s.watcher()).nat64
	if s.dns64 == nil || !st.fam.v6 || !f.needsDNS() {
		return
	}
	if _, known := s.dns64.known(f.net); known || f.native4 {
		// Known (an old answer is looked up again in the background), or
		// not worth a wait: with native IPv4, synthesized pairs come after
		// the native ones.
		s.dns64.start(f.net)
		return
	}
	network := f.net
	st.running++
	st.wg.Go(func() {
		s.use() // the lookup runs with the engine
		s.dns64.wait(ctx, network)
		s.release()
		st.mu.Lock()
		defer st.mu.Unlock()
		st.running--
		st.solicitRA(ctx)
		st.update(ctx)
	})
}

// solicitRA makes a Router Advertisement one more answer the Stream waits
// for, once the name has an IPv4 address that needs a NAT64 prefix on a host
// without native IPv4 and neither the RFC 7050 discovery (ended) nor the
// configuration gave one: the routers of the IPv6-only links without an RA
// prefix are asked (see Selector.solicitPREF64), once per Stream. st.mu is
// held.
func (st *Stream) solicitRA(ctx context.Context) {
	s := st.sel
	if st.solicited || !st.need4 || !st.fam.v6 {
		return
	}
	w := s.watcher()
	f := &s.currentView(w).nat64
	if f.native4 || !f.needsDNS() {
		return
	}
	until := s.solicitPREF64(w, f)
	if until.IsZero() {
		return
	}
	st.solicited = true
	st.running++
	st.wg.Go(func() {
		awaitRAPrefix(ctx, w, f.v6only, until)
		st.mu.Lock()
		defer st.mu.Unlock()
		st.running--
		st.update(ctx)
	})
}

// askAddrs starts the AAAA and A lookups of name (the families allowed),
// once per name: one lookup of both when the system answers for the name
// itself (see lookupBoth). The host's own name is never such a name when
// both families are asked: Selector.Stream hands those to Attempts. st.mu is
// held.
func (st *Stream) askAddrs(ctx context.Context, name string) {
	key := svcb.CanonicalName(name)
	if st.asked[key] {
		return
	}
	st.asked[key] = true
	if name != st.name && st.fam.v6 && st.fam.v4 && st.sel.stub.local(name, time.Now()) {
		// The system answers for the name itself (the hosts file,
		// localhost): no Resolution Delay to keep between the families,
		// and one lookup costs half of two.
		st.running += 2
		st.wg.Go(func() { st.lookupBoth(ctx, name) })
		return
	}
	for _, is6 := range []bool{true, false} {
		if (is6 && !st.fam.v6) || (!is6 && !st.fam.v4) {
			continue
		}
		st.running++
		st.wg.Go(func() { st.lookupAddrs(ctx, name, is6) })
	}
}

// lookupBoth looks name up for both families at once and adds the answers as
// lookupAddrs would each.
func (st *Stream) lookupBoth(ctx context.Context, name string) {
	a6, a4 := lookupBoth(ctx, st.lookup, name)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.addAddrs(ctx, name, true, a6.addrs, a6.err)
	st.addAddrs(ctx, name, false, a4.addrs, a4.err)
}

// lookupAddrs looks name up for one family and adds the answer.
func (st *Stream) lookupAddrs(ctx context.Context, name string, is6 bool) {
	network := "ip4"
	if is6 {
		network = "ip6"
	}
	addrs, err := st.lookup(ctx, network, name)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.addAddrs(ctx, name, is6, addrs, err)
}

// addAddrs adds the answer of name's lookup for one family. st.mu is held.
func (st *Stream) addAddrs(ctx context.Context, name string, is6 bool, addrs []netip.Addr, err error) {
	st.running--
	failed := err != nil && !isNotFound(err)
	st.ans.SetAddrs(name, is6, failed, addrs)
	if !is6 && needsSynthesis(addrs) {
		st.need4 = true
		st.solicitRA(ctx)
	}
	if svcb.CanonicalName(name) == st.ans.Origin() {
		st.origin[b2i(is6)] = &answer{addrs, err}
		if !is6 && unanswered(st.origin[0], time.Since(st.began)) {
			st.unanswered = time.Now()
		}
		if st.untraced--; st.untraced == 0 {
			st.trace()
		}
	}
	st.update(ctx)
}

// trace reports the end of the host's lookups to the trace. st.mu is held.
func (st *Stream) trace() {
	a6 := st.origin[1]
	if !st.unanswered.IsZero() && a6 != nil && errors.Is(a6.err, context.Canceled) && st.caller.Err() == nil {
		a6 = nil // given up on after A went unanswered: the dial failed with A's error
	}
	st.traced(joinAnswers(st.caller, st.name, a6, st.origin[0], st.strict))
}

// lookupHTTPS looks the HTTPS records up, adds them, and asks for the
// addresses of their targets; unless the Stream gave up on the answer, which
// then only tells the Selector whether the resolver answers.
func (st *Stream) lookupHTTPS(ctx context.Context) {
	svc, err := st.https(ctx, st.name, st.q.Port)
	st.mu.Lock()
	defer st.mu.Unlock()
	st.hrunning = false
	if st.grace != nil {
		st.grace.Stop()
	}
	st.heard(ctx, err)
	if st.gaveUp {
		return
	}
	st.running--
	defer close(st.svcDone)
	if ctx.Err() != nil {
		st.signal()
		return
	}
	if svc == nil {
		svc = &dnsstub.Service{Owner: st.name}
	}
	if err != nil { // an alias followed before the failure still counts
		svc = &dnsstub.Service{Owner: st.name, Alias: svc.Alias}
	}
	st.ans.SetAlias(svc.Alias)
	st.ans.SetServices(svc.Owner, svc.Records)
	for _, t := range st.ans.Targets() {
		st.askAddrs(st.lctx, t) // ended with the dial, as the host's
	}
	st.update(st.lctx)
}

// heard tells the Selector what the HTTPS lookup, which ended with err (ctx
// its context), says of its resolver: nothing when it was ended (the end of
// the grace said it, if it ended it); unanswered when it timed out after the
// A or AAAA answer came (see unanswered: not a fast SERVFAIL); else
// answered. st.mu is held.
func (st *Stream) heard(ctx context.Context, err error) {
	q, r := &st.sel.quiet, st.q.Resolver
	switch {
	case ctx.Err() != nil:
	case !st.first.IsZero() && unanswered(&answer{err: err}, time.Since(st.began)):
		q.unanswered(r, time.Now())
	default:
		q.answered(r)
	}
	if st.learning {
		q.learned(r, st)
	}
}

// graceOver ends the wait for the HTTPS answer, the grace after the first
// address answer (see httpsGrace): the resolver is taken for one that drops
// HTTPS queries, the lookup is ended, and the Stream goes on as with no
// record; an answer that would come later changes nothing.
func (st *Stream) graceOver() {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.hrunning {
		return
	}
	st.sel.quiet.unanswered(st.q.Resolver, time.Now())
	st.hcancel()
	st.hrunning = false // ended: not one for Close to leave running
	if st.stopWaiting() && !st.closed {
		st.update(st.lctx)
	}
}

// stopWaiting gives up on the HTTPS answer: the answers are those of no
// record, and the lookup, if it runs on, no longer counts. It reports
// whether the Stream had not given up yet. st.mu is held.
func (st *Stream) stopWaiting() bool {
	if st.gaveUp {
		return false
	}
	st.gaveUp = true
	st.running--
	st.ans.SetServices(st.name, nil)
	close(st.svcDone)
	return true
}

// isNotFound reports whether err says the name has no such records.
func isNotFound(err error) bool {
	de, ok := err.(*net.DNSError)
	return ok && de.IsNotFound
}

// update recomputes the order after an answer and signals the change. st.mu
// is held.
func (st *Stream) update(ctx context.Context) {
	eps := st.endpoints()
	if st.first.IsZero() && slices.ContainsFunc(eps, func(e svcb.Endpoint) bool { return st.fam.allows(e.Addr) }) {
		st.first = time.Now()
		if st.hrunning {
			st.grace = time.AfterFunc(httpsGrace(st.first.Sub(st.began)), st.graceOver)
		}
	}
	st.setOrder(st.sel.orderEndpoints(ctx, st.q, eps, st.fam, st.running == 0))
	st.signal()
}

// setOrder makes ps the order. st.mu is held, or st is new. A pair may be
// in ps twice (the same address under two HTTPS records, or as itself and as
// a DNS64 answer): Next hands it out once, and left counts it once.
func (st *Stream) setOrder(ps []Pair) {
	st.order, st.skip, st.left = ps, 0, 0
	seen := make(map[pairKey]bool, len(ps))
	for _, p := range ps {
		if k := keyOf(p); !st.taken[k] && !seen[k] {
			seen[k] = true
			st.left++
		}
	}
}

// untaken returns the index in order of the first pair Next has not
// returned, or len(order); st.mu is held.
func (st *Stream) untaken() int {
	for st.skip < len(st.order) && st.taken[keyOf(st.order[st.skip])] {
		st.skip++
	}
	return st.skip
}

// endpoints returns the answers' endpoints, without those no record covers
// when the query uses ECH and every record offers it (see Query.ECH). st.mu
// is held.
func (st *Stream) endpoints() []svcb.Endpoint {
	eps := st.ans.Endpoints()
	if st.q.ECH && st.ans.ECHReliant() {
		eps = slices.DeleteFunc(eps, func(e svcb.Endpoint) bool { return e.Service == nil })
	}
	return eps
}

// errNoECH is Stream.Service's error for an address no HTTPS record covers
// when the query uses ECH and every record offers it.
var errNoECH = errors.New("pairs: no HTTPS record covers the address, and every record offers ECH: no connection without it")

// signal wakes whoever waits on Changed. st.mu is held.
func (st *Stream) signal() {
	close(st.changed)
	st.changed = make(chan struct{})
}

// orderEndpoints ranks and orders the pairs of every endpoint: by service
// group, then as Attempts does, each pair with its Service. When the rules
// leave no pair at all and final says no answer will follow, the groups get
// net.Dialer's fallback pairs instead (see Attempts).
func (s *Selector) orderEndpoints(ctx context.Context, q Query, eps []svcb.Endpoint, f family, final bool) []Pair {
	out := s.orderGroups(ctx, q, eps, f, false)
	if len(out) == 0 && final {
		out = s.orderGroups(ctx, q, eps, f, true)
	}
	return out
}

// orderGroups is orderEndpoints' ranking, with the fallback pairs of every
// group or without them.
func (s *Selector) orderGroups(ctx context.Context, q Query, eps []svcb.Endpoint, f family, fallback bool) []Pair {
	var out []Pair
	ws := s.scratch.get()
	defer s.scratch.put(ws)
	e := s.use()
	defer s.release()
	eps = firstOfFamilies(eps, func(e svcb.Endpoint) netip.Addr { return e.Addr }, destinationsPerFamily(s.currentView(e.watcher)))
	for len(eps) > 0 {
		n := 1
		for n < len(eps) && eps[n].Group == eps[0].Group {
			n++
		}
		group := eps[:n]
		eps = eps[n:]
		var dsts []netip.Addr
		for _, e := range group {
			if f.allows(e.Addr) {
				dsts = append(dsts, e.Addr)
			}
		}
		if f.v4 && f.v6 && desynthesizes(q) {
			// DNS64 answers under a known prefix are their IPv4 server.
			v := s.currentView(e.watcher)
			dsts = desynthesize(dsts, s.desynthesisPrefixes(v, s.knownPREF64s(v)))
		}
		if dsts, _ = filterLocal(dsts, q.Local); len(dsts) == 0 {
			continue
		}
		gq := q
		gq.Port = group[0].Port
		var ps []Pair
		if fallback {
			_, why := s.rankWith(ctx, e.watcher, gq, dsts, s.store, ws)
			ps = s.fallbackPairs(ctx, gq, &NoPairError{Host: q.Host, Reasons: why, dsts: dsts})
		} else {
			s.want(e, gq, dsts)
			ps, _ = s.rankWith(ctx, e.watcher, gq, dsts, s.store, ws)
			ps = s.order(s.sticky.prefer(stickyKey(q), ps, s.cfg.bias), q.TLS)
		}
		for i := range ps {
			ps[i].Service = serviceFor(group, &ps[i])
		}
		out = append(out, ps...)
	}
	return out
}

// serviceFor returns the Service of p's destination among group: that of
// its own address, else, for a pair through a NAT64, that of the IPv4 address
// it stands for (the answer's endpoint).
func serviceFor(group []svcb.Endpoint, p *Pair) *Service {
	if s := serviceOf(group, p.Dst.Addr()); s != nil || !p.Synthesized.IsValid() {
		return s
	}
	return serviceOf(group, p.Synthesized)
}

// serviceOf returns the Service of the endpoint of group with address a; nil
// when its group has no record.
func serviceOf(group []svcb.Endpoint, a netip.Addr) *Service {
	i := slices.IndexFunc(group, func(e svcb.Endpoint) bool { return e.Addr == a })
	if i < 0 || group[i].Service == nil {
		return nil
	}
	e := group[i]
	return &Service{Priority: e.Service.Priority, Target: e.Target, ALPN: e.Service.ALPNSet(),
		ECH: e.Service.ECH, Hint: e.Hint}
}

// waitStart waits until connecting can start (see Selector.Stream). When
// the dial's context ends first, the lookups end with it: their answers, or
// errors, decide.
func (st *Stream) waitStart() error {
	delay := st.sel.cfg.resolutionDelay
	var timer, giveUp *time.Timer // the Resolution Delay after the first address; after A went unanswered
	defer func() {
		for _, t := range []*time.Timer{timer, giveUp} {
			if t != nil {
				t.Stop()
			}
		}
	}()
	for {
		st.mu.Lock()
		n, done, first, ch := len(st.order), st.running == 0, st.first, st.changed
		ready := st.ans.Ready(st.prefer6)
		// With StrictErrors, the host's A and AAAA answers are both waited
		// for, and one that failed temporarily fails the Stream, as it
		// fails net.Dialer's one lookup.
		hold := st.strict && st.untraced > 0
		err := strictError(st.strict && !hold, st.origin[0], st.origin[1])
		switch {
		case err != nil:
		case done && n == 0:
			err = st.noPairs()
		case n == 0 && !st.unanswered.IsZero() && time.Since(st.unanswered) >= delay:
			// A's servers did not answer, and AAAA, asked of them at
			// the same moment, has had the Resolution Delay more.
			err = lookupError(st.name, st.origin[0])
		}
		unanswered := st.unanswered
		st.mu.Unlock()
		switch {
		case err != nil:
			return err
		case n > 0 && !hold && (ready || done || (!first.IsZero() && time.Since(first) >= delay)):
			return nil
		}
		var tick, gaveUp <-chan time.Time
		if !first.IsZero() && n > 0 {
			if timer == nil {
				timer = time.NewTimer(delay - time.Since(first))
			}
			tick = timer.C
		}
		if !unanswered.IsZero() && n == 0 {
			if giveUp == nil {
				giveUp = time.NewTimer(delay - time.Since(unanswered))
			}
			gaveUp = giveUp.C
		}
		select {
		case <-ch:
		case <-tick:
		case <-gaveUp:
		}
	}
}

// noPairs is the error of a Stream whose lookups ended without a pair: the
// resolver's error (see lookupError), or, as net.Dialer says it, no address
// of the network's family or of the local address's. st.mu is held.
func (st *Stream) noPairs() error {
	var dsts []netip.Addr
	for _, e := range st.ans.Endpoints() {
		dsts = append(dsts, e.Addr)
	}
	if len(dsts) == 0 {
		return lookupError(st.name, st.origin[1], st.origin[0])
	}
	dsts, err := filterFamily(dsts, st.fam, st.q.Host)
	if err != nil {
		return err
	}
	if _, err := filterLocal(dsts, st.q.Local); err != nil {
		return err
	}
	return &net.AddrError{Err: "no suitable address found", Addr: st.q.Host}
}

// Next returns the first pair of the current order that Next has not
// returned yet; ok is false when there is none now (see Changed and Done). The
// first pair it returns is the query's first pair for the Selector's
// hysteresis.
func (st *Stream) Next() (p Pair, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := st.untaken()
	if i == len(st.order) {
		return Pair{}, false
	}
	p = st.order[i]
	if len(st.taken) == 0 && !p.Fallback {
		st.sel.sticky.remember(stickyKey(st.q), &p, st.order)
	}
	st.taken[keyOf(p)] = true
	st.skip++
	st.left--
	return p, true
}

// Peek returns what Next would return, without taking it.
func (st *Stream) Peek() (p Pair, ok bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if i := st.untaken(); i < len(st.order) {
		return st.order[i], true
	}
	return Pair{}, false
}

// Left returns how many pairs of the current order Next has not returned.
func (st *Stream) Left() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.left
}

// Changed returns a channel that is closed at the next change: new answers
// (the order changed) or the end of a lookup. Ask for it before looking at the
// Stream (Next, Done), and again after each change: a change between the look
// and the call would otherwise close a channel nobody waits on.
func (st *Stream) Changed() <-chan struct{} {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.changed
}

// Done reports whether every lookup has ended: no pair will be added.
func (st *Stream) Done() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.running == 0
}

// Service returns the Service of p's destination (for a pair through a
// NAT64, of the IPv4 address it stands for) as the HTTPS answer says, waiting
// for that answer if it is not in yet (the draft's rule for a client that
// relies on SVCB for its TLS ClientHello, as with ECH); for a pair this Stream
// handed out to a hint that the addresses answered since dropped, the Service
// it was handed out with; nil when no record covers it, or no HTTPS records
// were asked; an error for an address no record covers when the query uses
// ECH and every record offers it (see Query.ECH). It returns early with
// ctx's error.
//
// It waits no longer than a grace after the first address answer: twice the
// time that answer took, at least 250 ms and at most 2 s. Our DNS is not
// protected (neither DNSSEC-validated nor encrypted), so an HTTPS lookup that
// does not answer while its servers answered A or AAAA has failed, and the
// draft lets a client abort on a failed SVCB resolution only with protected
// DNS: the Stream then goes on as with no record (no ECH), an answer that
// comes later changes nothing, and the Selector remembers the resolver for 5
// minutes, so that the next Streams do not wait.
func (st *Stream) Service(ctx context.Context, p Pair) (*Service, error) {
	select {
	case <-st.svcDone:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ans == nil {
		return p.Service, nil
	}
	var atPort []svcb.Endpoint
	for _, e := range st.ans.Endpoints() {
		if e.Port == p.Dst.Port() {
			atPort = append(atPort, e)
		}
	}
	s := serviceFor(atPort, &p)
	if s == nil && st.taken[keyOf(p)] {
		// A hint the address answers dropped since this Stream handed the
		// pair out: the attempt under way keeps the record it was made for.
		s = p.Service
	}
	if s == nil && st.q.ECH && st.ans.ECHReliant() {
		// A pair handed out before the HTTPS answer came in.
		return nil, errNoECH
	}
	return s, nil
}

// Close stops the lookups still running and waits for them. It is
// idempotent. An HTTPS lookup whose addresses have answered, and that is
// still within its grace (see httpsGrace), may be left running until it
// answers or the grace ends, to learn whether its resolver answers HTTPS
// queries (see quietResolvers): one at a time per resolver, and none once
// the Selector is closed.
func (st *Stream) Close() {
	st.mu.Lock()
	if !st.closed {
		st.closed = true
		if st.hrunning && st.grace != nil && (st.learning || st.sel.quiet.learn(st.q.Resolver, st, st.hcancel, st.hdone)) {
			st.learning, st.detached = true, true
			st.stopWaiting()
		} else if st.grace != nil {
			st.grace.Stop()
		}
	}
	detached, hcancel, hdone := st.detached, st.hcancel, st.hdone
	st.mu.Unlock()
	st.cancel()
	if hcancel != nil && !detached {
		hcancel()
		<-hdone
	}
	st.wg.Wait()
}
