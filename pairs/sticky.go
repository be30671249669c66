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
// sample, while a path that got five times slower gives way at once. It holds
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
	first map[string]stickyPair
}

type stickyPair struct{ src, dst netip.Addr }

// stickyKey names a query for the hysteresis: its network and host (ports share
// the paths).
func stickyKey(q Query) string { return q.Network + "|" + strings.ToLower(q.Host) }

// apply returns ranked with the incumbent first pair of key moved back to the
// front when the pair ranked first does not beat it clearly (see switchWorth),
// and remembers the first pair. bias is the ranking's IPv6 bias.
func (st *sticky) apply(key string, ranked []Pair, bias time.Duration) []Pair {
	if len(ranked) == 0 {
		return ranked
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.preferLocked(key, ranked, bias)
	st.rememberLocked(key, &ranked[0])
	return ranked
}

// prefer is apply without remembering: for a ranking that may not be the
// query's last (a Stream's, while answers arrive).
func (st *sticky) prefer(key string, ranked []Pair, bias time.Duration) []Pair {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.preferLocked(key, ranked, bias)
	return ranked
}

// remember records p as the first pair of key (the pair a Stream handed out
// first).
func (st *sticky) remember(key string, p *Pair) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.rememberLocked(key, p)
}

// preferLocked moves the incumbent of key to the front of ranked unless the
// pair ranked first should replace it. st.mu is held.
func (st *sticky) preferLocked(key string, ranked []Pair, bias time.Duration) {
	inc, ok := st.first[key]
	if !ok {
		return
	}
	if i := indexOf(ranked, inc); i > 0 && !switchWorth(&ranked[0], &ranked[i], bias) {
		p := ranked[i]
		copy(ranked[1:i+1], ranked[:i])
		ranked[0] = p
	}
}

// rememberLocked records p as the first pair of key, forgetting another query
// when maxSticky are remembered. st.mu is held.
func (st *sticky) rememberLocked(key string, p *Pair) {
	if st.first == nil {
		st.first = make(map[string]stickyPair)
	}
	if _, ok := st.first[key]; !ok && len(st.first) >= maxSticky {
		for k := range st.first {
			delete(st.first, k)
			break
		}
	}
	st.first[key] = stickyPair{p.Src.Addr(), p.Dst.Addr()}
}

// indexOf returns the index of the pair p in ranked, or -1.
func indexOf(ranked []Pair, p stickyPair) int {
	for i := range ranked {
		if ranked[i].Src.Addr() == p.src && ranked[i].Dst.Addr() == p.dst {
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
