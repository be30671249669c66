package pairs

import (
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Hysteresis of the first pair (as tailscale's magicsock switches paths): a
// measured pair replaces the measured first pair of the same query when it was
// last answered only when its latency is more than switchMin lower and less than
// switchRatio of the incumbent's; otherwise the incumbent stays first. Two paths
// 5 ms apart with a few milliseconds of jitter then do not trade places on every
// sample, while a path that got five times slower gives way at once. A pair that
// lost the first place to a failure (its source fell to a worse tier) gets it
// back as soon as it ranks first again: the pair that stood in for it during
// the outage is no incumbent to protect. It holds
// for every way a query is answered: Get, Attempts and LookupNetIP rank, and
// remember their first pair; a Stream, whose order grows as the answers
// arrive, applies it to every order it forms and remembers the pair it hands
// out first.
const (
	switchMin        = 10 * time.Millisecond
	switchRatioNum   = 2
	switchRatioDenom = 3
	// maxSticky bounds the queries remembered; past it, one is forgotten for
	// each new one.
	maxSticky = 1024
)

// sticky remembers the first pair of recent queries. Its zero value is ready.
type sticky struct {
	mu    sync.Mutex
	first map[stickyID]stickyPair
}

// stickyPair is a query's first pair; displaced is the first pair before it,
// when it took the place because that one's source fell to a worse tier (a
// failure), else zero (which is no pair).
type stickyPair struct {
	pairID
	displaced pairID
}

// pairID names a pair by its addresses.
type pairID struct{ src, dst netip.Addr }

// is reports whether p is the pair x names.
func (x pairID) is(p *Pair) bool { return p.Src.Addr() == x.src && p.Dst.Addr() == x.dst }

// stickyID names a query for the hysteresis: its network and host (ports
// share the paths), and its local address when it has one (a dial pinned to a
// source says nothing of which path is best for the others). A struct, not a
// string built per dial: making it allocates nothing.
type stickyID struct {
	network, host string // the host in lower case
	local         netip.Addr
}

// stickyKey returns q's stickyID.
func stickyKey(q Query) stickyID {
	return stickyID{network: q.Network, host: strings.ToLower(q.Host), local: q.Local.Addr()}
}

// apply returns ranked with the incumbent first pair of key moved back to the
// front when the pair ranked first does not beat it clearly (see switchWorth),
// and remembers the first pair. bias is the ranking's IPv6 bias.
func (st *sticky) apply(key stickyID, ranked []Pair, bias time.Duration) []Pair {
	if len(ranked) == 0 {
		return ranked
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.preferLocked(key, ranked, bias)
	st.rememberLocked(key, &ranked[0], ranked)
	return ranked
}

// prefer is apply without remembering: for a ranking that may not be the
// query's last (a Stream's, while answers arrive).
func (st *sticky) prefer(key stickyID, ranked []Pair, bias time.Duration) []Pair {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.preferLocked(key, ranked, bias)
	return ranked
}

// remember records p as the first pair of key (the pair a Stream handed out
// first, from its order ranked).
func (st *sticky) remember(key stickyID, p *Pair, ranked []Pair) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.rememberLocked(key, p, ranked)
}

// preferLocked moves the incumbent of key to the front of ranked unless the
// pair ranked first should replace it. st.mu is held.
func (st *sticky) preferLocked(key stickyID, ranked []Pair, bias time.Duration) {
	inc, ok := st.first[key]
	if !ok || len(ranked) == 0 || inc.displaced.is(&ranked[0]) {
		return // none, or the pair a failure displaced is back first
	}
	if i := indexOf(ranked, inc.pairID); i > 0 && !switchWorth(&ranked[0], &ranked[i], bias) {
		p := ranked[i]
		p.Reason += keptFirst
		copy(ranked[1:i+1], ranked[:i])
		ranked[0] = p
	}
}

// keptFirst ends the Reason of an incumbent the hysteresis keeps first.
const keptFirst = "; kept first: the pair measured faster is not 10ms and a third faster"

// rememberLocked records p as the first pair of key, from the order ranked,
// forgetting another query when maxSticky are remembered. When p replaces an
// incumbent that ranked has in a worse tier, p is a stand-in: the incumbent
// is kept as displaced, to return to. st.mu is held.
func (st *sticky) rememberLocked(key stickyID, p *Pair, ranked []Pair) {
	if st.first == nil {
		st.first = make(map[stickyID]stickyPair)
	}
	old, ok := st.first[key]
	if !ok && len(st.first) >= maxSticky {
		for k := range st.first {
			delete(st.first, k)
			break
		}
	}
	x := stickyPair{pairID: pairID{p.Src.Addr(), p.Dst.Addr()}}
	switch {
	case !ok:
	case old.is(p):
		x.displaced = old.displaced
	default:
		if i := indexOf(ranked, old.pairID); i >= 0 && tier(&ranked[i]) > tier(p) {
			x.displaced = old.pairID
		}
	}
	st.first[key] = x
}

// indexOf returns the index of the pair p in ranked, or -1.
func indexOf(ranked []Pair, p pairID) int {
	for i := range ranked {
		if p.is(&ranked[i]) {
			return i
		}
	}
	return -1
}

// switchWorth reports whether challenger, ranked first, should replace the
// incumbent first pair: always unless both are measured and in the same tier;
// then only when its latency (IPv6 bias applied) is more than switchMin lower and
// below switchRatio of the incumbent's.
func switchWorth(challenger, incumbent *Pair, bias time.Duration) bool {
	if challenger.Basis != Measured || incumbent.Basis != Measured || tier(challenger) != tier(incumbent) {
		return true
	}
	c, i := effective(challenger, bias), effective(incumbent, bias)
	// In float64: the products of extreme latencies (corrupt samples) would
	// overflow time.Duration.
	return c < i-switchMin && float64(c)*switchRatioDenom < float64(i)*switchRatioNum
}

// effective is p's latency as the ranking compares it: IPv6 biased (but not a
// pair through a NAT64, whose destination is IPv4), not below 0.
func effective(p *Pair, bias time.Duration) time.Duration {
	l := p.Latency
	if p.Is6() && !p.Synthesized.IsValid() {
		l = biased(l, bias)
	}
	return max(l, 0)
}
