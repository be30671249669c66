package probe

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// Defaults of the Store options.
const (
	DefaultDeadAfter = 2    // blamed failures that make a source dead
	DefaultMaxPairs  = 4096 // pairs remembered before the least recently used go
)

// Store is what has been learned about the paths out of this host: per address pair
// the smoothed RTT and counts, per source address its health, and the status flags.
// It is fed by Report and Observe. A Store is safe for concurrent use and starts no
// goroutines.
type Store struct {
	log       *zap.Logger
	deadAfter int
	maxPairs  int
	maxNets   int
	nat64     func() []netip.Prefix // see WithNAT64Prefixes; nil: none

	trans   atomic.Uint32 // the translator flags, for Translators without the lock
	version atomic.Uint64 // counts the changes made under mu (see Version)
	state   atomic.Uint64 // counts those changes but latencies that moved (see StateVersion)
	due     chan struct{} // signalled when a source's re-check becomes due sooner

	mu        sync.RWMutex
	snap      *netstate.Snapshot // last observed; nil before the first Observe
	sources   map[netip.Addr]*source
	npairs    int        // pairs over all sources
	evictRefs []evictRef // evict's scratch, kept between runs
	evictKeys []int64
	flags     flags     // the learned Status flags
	changed   time.Time // when Status last changed
	shelf     shelf     // what was learned on networks the host left
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithLogger makes the Store log to l (named "probe"). The default logs nothing.
func WithLogger(l *zap.Logger) StoreOption {
	return func(s *Store) {
		if l != nil {
			s.log = l.Named("probe")
		}
	}
}

// WithDeadAfter sets how many blamed failures in a row make a source dead: the
// first makes it suspect, the n-th dead. Values below 1 keep the default, 2.
func WithDeadAfter(n int) StoreOption {
	return func(s *Store) {
		if n >= 1 {
			s.deadAfter = n
		}
	}
}

// WithMaxPairs bounds the number of address pairs the Store remembers; when there
// are more, the least recently updated are forgotten. Values below 1 keep the
// default, 4096.
func WithMaxPairs(n int) StoreOption {
	return func(s *Store) {
		if n >= 1 {
			s.maxPairs = n
		}
	}
}

// WithNAT64Prefixes gives the Store the NAT64 prefixes that its snapshots do
// not carry (configured ones, those found through DNS64, RFC 7050), read when
// needed: a connect to an address under one of them, as under the well-known
// and local-use prefixes and a snapshot's PREF64s, goes through a NAT64, which
// translates ULA and global sources alike, and teaches nothing of an NPTv6
// translator (Status.NPTv6). prefixes is called with the Store's lock held: it
// must not call the Store.
func WithNAT64Prefixes(prefixes func() []netip.Prefix) StoreOption {
	return func(s *Store) { s.nat64 = prefixes }
}

// NewStore returns an empty Store.
func NewStore(opts ...StoreOption) *Store {
	s := &Store{
		log:       zap.NewNop(),
		deadAfter: DefaultDeadAfter,
		maxPairs:  DefaultMaxPairs,
		maxNets:   DefaultMaxNetworks,
		sources:   make(map[netip.Addr]*source),
		due:       make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// pair is one (source, destination) entry.
type pair struct {
	dst      netip.Addr
	stats    PairStats
	working  bool      // the last conclusive result proved the path
	imported bool      // learned from the shared file, not yet from this process's own results
	updated  time.Time // time of the last result
	near     int       // index in its source's near list
	shift    int8      // samples in a row far above (> 0) or far below (< 0) SRTT
	// baseSRTT and baseRTTVar are the estimate before the first of those samples.
	baseSRTT, baseRTTVar time.Duration
	floor                time.Duration
	floorAt              time.Time // when floor was last confirmed or lowered
	// lifted is how much of SRTT other pairs' slowdowns put there (see
	// slowLink) and no sample of its own has confirmed yet.
	lifted time.Duration
}

// addrKey is how the Store keys an address: unmapped, and without zone unless it is
// an IPv6 link-local address.
func addrKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() && a.IsLinkLocalUnicast() {
		return a
	}
	return a.WithZone("")
}

// NearbyPrefix returns the prefix that destinations share to count as nearby, so
// that a destination without a measured pair inherits the latency of one with: the
// first 32 bits of an IPv6 address, the first 20 of an IPv4 address, without zone.
// It is the rule of the Python prototype, used by Nearby and by the ranking in
// package pairs. An invalid dst gives the zero Prefix.
func NearbyPrefix(dst netip.Addr) netip.Prefix {
	bits := nearbyBits4
	if dst.Is6() {
		bits = nearbyBits6
	}
	p, _ := dst.WithZone("").Prefix(bits)
	return p
}

// nearbyBits4 and nearbyBits6 are NearbyPrefix's prefix lengths (both at most
// 32: nearKeyOf packs the prefix's bits in 32).
const (
	nearbyBits4 = 20
	nearbyBits6 = 32
)

// nearKey is a destination's NearbyPrefix packed in a word, as a source's
// near lists are keyed: the prefix's bits in the low 32 and the family above
// them (1 for IPv6, 2 for IPv4); 0 for an invalid address. Hashing and
// comparing it costs less than a netip.Prefix, and a ranking looks up one per
// source and prefix.
type nearKey uint64

// nearKeyOf returns the nearKey of dst: NearbyPrefix(dst), packed. It reads
// the IPv6 bytes one by one (As16()[i], which compiles to shifts): copying
// As16's array costs a stall (two 8-byte stores read back as one 16-byte
// load) that took longer than all the rest.
func nearKeyOf(dst netip.Addr) nearKey {
	var family nearKey
	var top uint32 // the address's first 32 bits
	bits := nearbyBits4
	switch {
	case dst.Is4():
		a := dst.As4()
		family, top = 2, binary.BigEndian.Uint32(a[:])
	case dst.Is6():
		family, top = 1, uint32(dst.As16()[0])<<24|uint32(dst.As16()[1])<<16|uint32(dst.As16()[2])<<8|uint32(dst.As16()[3])
		bits = nearbyBits6
	default:
		return 0
	}
	return family<<32 | nearKey(top&^(1<<(32-bits)-1))
}

// endTime is when an outcome's attempt ended; now when it carries no Start.
func endTime(o Outcome) time.Time {
	if o.Start.IsZero() {
		return time.Now()
	}
	return o.Start.Add(o.Duration)
}

// Report records the outcome of one connect attempt: the dialer's own attempts and
// the prober's. Canceled and OtherError outcomes say nothing about the path and are
// dropped, as are outcomes from a source that is not an address of the last
// snapshot passed to Observe (it was removed while the attempt ran). A Superseded
// outcome counts as a Timeout when the attempt waited at least the pair's RTO
// (PairStats.RTO) without an answer, and as nothing otherwise. The TLS
// results (Middlebox, TLSSuccess) go to the pair's TLS evidence only: they change
// neither its RTT nor the source's health.
func (s *Store) Report(o Outcome) {
	src, dst := addrKey(o.Src.Addr()), addrKey(o.Dst.Addr())
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return
	}
	if o.Result.TLS() {
		s.reportTLS(src, dst, o)
		return
	}
	if !o.Result.Conclusive() && o.Result != Superseded {
		return
	}
	now := endTime(o)
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.reportingSource(src, dst, now)
	if sc == nil {
		return
	}
	if o.Result == Superseded {
		if !overdue(sc.pairTo(dst), o.Duration) {
			return
		}
		o.Result = Timeout
	}
	before := s.stateOf(sc, dst)
	defer func() { s.bump(before != s.stateOf(sc, dst)) }()
	p := s.pairOf(sc, dst)
	p.updated, p.imported = now, false
	if o.Result.PathWorks() {
		switch moved := p.sample(sample(o), now); {
		case moved > 0:
			s.slowLink(sc, p, moved)
			s.wake()
		case moved < 0:
			s.fastLink(sc, p, -moved)
		}
		sc.setWorking(p, true)
		s.pathWorked(sc, dst, now)
	} else {
		p.stats.LastFailure = now
		p.stats.Failures++
		sc.setWorking(p, false)
		s.pathFailed(sc, dst, now)
	}
	start := o.Start
	if start.IsZero() {
		start = now
	}
	s.noteFlags(sc, dst, o.Result.PathWorks(), start, now)
	s.evict()
}

// reportingSource returns the source an outcome from src to dst is recorded
// under: known, or added when the Store follows no snapshot; nil when the
// snapshot no longer has src (a source gone while the attempt ran), and the
// outcome is dropped. s.mu is held.
func (s *Store) reportingSource(src, dst netip.Addr, now time.Time) *source {
	if sc := s.sources[src]; sc != nil {
		return sc
	}
	if s.snap != nil {
		if ce := s.log.Check(zap.DebugLevel, "outcome from an unknown source dropped"); ce != nil {
			ce.Write(zap.Stringer("src", src), zap.Stringer("dst", dst))
		}
		return nil
	}
	return s.addSource(src, now)
}

// overdue reports whether an attempt over p (nil: a pair not known yet) that
// went unanswered for waited, while another attempt of its dial connected, had
// waited long enough for its silence to count against the path: the pair's RTO.
func overdue(p *pair, waited time.Duration) bool {
	rto := InitialRTO
	if p != nil {
		rto = p.stats.RTO()
	}
	return waited >= rto
}

// Version returns a number that changes whenever what the Store knows changes:
// an outcome recorded, a snapshot observed, pairs imported. What was read of the
// Store at one Version (a ranking) still holds while the Version is the same,
// except for the verdicts that expire by themselves (PairStats.Intercepted).
func (s *Store) Version() uint64 { return s.version.Load() }

// StateVersion returns a number that changes with every change Version counts
// but one: a success over a pair that had not failed at its last attempt, from
// a source whose health, and the translators seen, it leaves as they were, and
// with the Store below its bound of pairs (its RTT sample moves or makes
// latency estimates, nothing else). What was read of the Store at one
// StateVersion has the same sources' health, the same pairs failing and the
// same translator and middlebox verdicts while it is the same; only latencies
// may have moved or been measured.
func (s *Store) StateVersion() uint64 { return s.state.Load() }

// bump counts a change made under s.mu: in StateVersion too unless only
// latencies moved.
func (s *Store) bump(state bool) {
	if state {
		s.state.Add(1)
	}
	s.version.Add(1)
}

// reportState is what a report may change beside latencies (see StateVersion).
type reportState struct {
	health    Health
	failing   bool // the pair to the destination failed at its last attempt
	flags     flags
	evictable bool // as many pairs as the bound: a report may evict some
}

// stateOf returns the state of sc and its pair to dst. s.mu is held.
func (s *Store) stateOf(sc *source, dst netip.Addr) reportState {
	p := sc.pairTo(dst)
	return reportState{health: sc.health, failing: p != nil && !p.working, flags: s.flags, evictable: s.npairs >= s.maxPairs}
}

// sample is the RTT sample an outcome that proved the path gives: the kernel's
// estimate when known, else the time the connect took.
func sample(o Outcome) time.Duration {
	r := o.Duration
	if o.Result == Success && o.KernelRTT > 0 {
		r = o.KernelRTT
	}
	return min(r, maxSample)
}

// maxSample bounds an RTT sample: a connect takes minutes at most before the
// kernel gives up, and the estimate's arithmetic (SRTT + 4·RTTVAR) must not
// overflow on what a caller of Report passes.
const maxSample = 10 * time.Minute

// success records a result that proved the path, with its RTT sample, following
// RFC 6298 section 2: the first sample sets SRTT = R and RTTVAR = R/2; later ones
// RTTVAR = (1 - beta) RTTVAR + beta |SRTT - R| and then SRTT = (1 - alpha) SRTT +
// alpha R, with alpha = 1/8 and beta = 1/4. A sample of zero or less is not used.
func (ps *PairStats) success(r time.Duration, now time.Time) {
	ps.Successes++
	ps.LastSuccess = now
	if r <= 0 {
		return
	}
	if ps.Samples == 0 {
		ps.SRTT, ps.RTTVar = r, r/2
	} else {
		d := ps.SRTT - r
		if d < 0 {
			d = -d
		}
		ps.RTTVar += (d - ps.RTTVar) / 4
		ps.SRTT += (r - ps.SRTT) / 8
	}
	ps.Samples++
}

// pairOf returns sc's pair to dst, creating it.
func (s *Store) pairOf(sc *source, dst netip.Addr) *pair {
	if p := sc.pairs[dst]; p != nil {
		return p
	}
	p := &pair{dst: dst}
	sc.pairs[dst] = p
	p.near = sc.near.add(nearKeyOf(dst), p)
	s.npairs++
	return p
}

// dropPair forgets sc's pair to dst, in O(1): the last pair of its near list takes
// its place there.
func (s *Store) dropPair(sc *source, p *pair) {
	sc.setWorking(p, false)
	delete(sc.pairs, p.dst)
	if moved := sc.near.remove(nearKeyOf(p.dst), p.near); moved != nil {
		moved.near = p.near
	}
	s.npairs--
}

// evictRef is a pair in the eviction order: by key, the smallest first.
type evictRef struct {
	key int64 // evictKey
	sc  *source
	p   *pair
}

// evictKey orders the pairs for eviction: those learned only from the shared file
// first, then this process's own; in each, the least recently updated first.
func evictKey(p *pair) int64 {
	sec := min(max(p.updated.Unix(), 0), 1<<32-1) // 1970 to 2106
	k := sec<<30 | int64(p.updated.Nanosecond())
	if !p.imported {
		k |= 1 << 62
	}
	return k
}

// evict forgets pairs once there are more than maxPairs, down to seven eighths of
// it, so that eviction runs once per maxPairs/8 new pairs: pairs learned only from
// the shared file go first, then the least recently updated. It takes O(n log n)
// for n pairs, a sort of n integers (BenchmarkEvict: 0.5 ms at the default
// 4096).
func (s *Store) evict() {
	if s.npairs <= s.maxPairs {
		return
	}
	refs, keys := s.evictRefs[:0], s.evictKeys[:0]
	for _, sc := range s.sources {
		for l := range sc.near.all() {
			for _, p := range l {
				k := evictKey(p)
				refs, keys = append(refs, evictRef{k, sc, p}), append(keys, k)
			}
		}
	}
	n := s.npairs - max(s.maxPairs*7/8, 1) // the pair just reported stays, whatever the bound
	slices.Sort(keys)
	last := keys[n-1] // the n-th smallest key: the victims are up to it
	ties := n - sort.Search(n, func(i int) bool { return keys[i] >= last })
	for _, r := range refs {
		if r.key < last || r.key == last && ties > 0 {
			if r.key == last {
				ties--
			}
			s.dropPair(r.sc, r.p)
			// Without a snapshot, sources come from reports alone: one
			// left without pairs goes too (a crawler's rotating
			// addresses would otherwise pile up).
			if s.snap == nil && len(r.sc.pairs) == 0 {
				delete(s.sources, r.sc.addr)
			}
		}
	}
	clear(refs)
	s.evictRefs, s.evictKeys = refs[:0], keys[:0]
}

// Pair returns what is known about the pair (src, dst). Ports are ignored, and so
// are zones except on IPv6 link-local addresses. ok is false when nothing is known.
func (s *Store) Pair(src, dst netip.Addr) (PairStats, bool) {
	src, dst = addrKey(src), addrKey(dst)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p := s.sources[src].pairTo(dst); p != nil {
		return p.stats, true
	}
	return PairStats{}, false
}

// From answers Pair(src, dst) for every dst in dsts, and Health(src), under one read
// lock: out[i] and found[i] are set to what Pair(src, dsts[i]) returns, and the
// result is src's health. It is the bulk read of a ranking, which asks about many
// destinations from each source. out and found must be at least as long as dsts
// (From panics otherwise); their elements past len(dsts) are left as they are.
func (s *Store) From(src netip.Addr, dsts []netip.Addr, out []PairStats, found []bool) Health {
	out, found = out[:len(dsts)], found[:len(dsts)]
	src = addrKey(src)
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc := s.sources[src]
	for i, d := range dsts {
		if p := sc.pairTo(addrKey(d)); p != nil {
			out[i], found[i] = p.stats, true
		} else {
			out[i], found[i] = PairStats{}, false
		}
	}
	if sc == nil {
		return Unknown
	}
	return sc.health
}

// pairTo returns sc's pair to dst (keyed by addrKey), or nil when there is none,
// also when sc is nil (an unknown source).
func (sc *source) pairTo(dst netip.Addr) *pair {
	if sc == nil {
		return nil
	}
	return sc.pairs[dst]
}

// Nearby returns the best measured pair from src to another destination that shares
// dst's first 32 bits (IPv6) or 20 bits (IPv4): among pairs with an RTT sample, one
// whose path worked at its last attempt is preferred, then the lowest SRTT. ok is
// false when there is none.
func (s *Store) Nearby(src, dst netip.Addr) (PairStats, bool) {
	src, dst = addrKey(src), addrKey(dst)
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc := s.sources[src]
	if sc == nil || !dst.IsValid() {
		return PairStats{}, false
	}
	var best *pair
	for _, p := range sc.near.get(nearKeyOf(dst)) {
		if p.dst == dst || p.stats.Samples == 0 {
			continue
		}
		if best == nil || better(p, best) {
			best = p
		}
	}
	if best == nil {
		return PairStats{}, false
	}
	return best.stats, true
}

// better reports whether p is a better inheritance than q.
func better(p, q *pair) bool {
	if p.working != q.working {
		return p.working
	}
	return cmp.Or(cmp.Compare(p.stats.SRTT, q.stats.SRTT), p.dst.Compare(q.dst)) < 0
}

// Translators returns what is known of NPTv6 and NAT44 on the way out. It takes no
// lock: it is meant for the ranking's hot path.
func (s *Store) Translators() Translators {
	return flags(s.trans.Load()).translators()
}
