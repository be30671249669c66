package probe

import (
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// DefaultMaxNetworks is how many networks the host left a Store remembers, unless
// WithMaxNetworks says otherwise.
const DefaultMaxNetworks = 8

// WithMaxNetworks bounds the networks whose memory a Store keeps after the host
// left them (see Observe); when there are more, the least recently left are
// forgotten. The pairs kept for them count separately from WithMaxPairs, and are
// bounded by it too. Values below 1 keep the default, 8.
func WithMaxNetworks(n int) StoreOption {
	return func(s *Store) {
		if n >= 1 {
			s.maxNets = n
		}
	}
}

// shelf is what was learned on the networks the host left: per network, the
// sources (with their pairs and health) that were on it, least recently left
// first.
type shelf struct {
	nets   []*shelved
	npairs int // pairs over all shelved sources
}

// shelved is the memory of one network.
type shelved struct {
	// router names the network: its Router and HWAddr, or for a link without a
	// default router the Prefix of the first source set aside.
	router  netstate.Network
	left    time.Time // when a source last left it
	sources map[netip.Addr]*source
	// trans holds the translator flags of the families in saved (flagsNAT44,
	// flagsNPTv6), as they were when the network's last translated source left.
	trans, saved flags
}

// matches reports whether n belongs to the network sh.
func (sh *shelved) matches(n netstate.Network) bool {
	if !n.Router.IsValid() {
		return !sh.router.Router.IsValid() && sh.router.Prefix == n.Prefix
	}
	return sh.router.SameRouter(n)
}

// setAside removes sc from the live sources and keeps it, with its pairs, in the
// memory of its network. When it was the last source of a translated class
// (RFC 1918 and 100.64/10, or ULA), that family's translator flags go back to "not
// tried"; the network keeps them, to be restored with the source.
func (s *Store) setAside(sc *source, now time.Time) {
	s.removeSource(sc, now)
	tr := translated(sc.addr)
	var saved flags
	if tr != 0 && !s.hasTranslated(tr) {
		saved = s.flags & tr
		s.setFlags(s.flags&^tr, now)
	}
	if sc.link == 0 || (len(sc.pairs) == 0 && saved == 0) {
		return // never seen on a network, or nothing learned there
	}
	sh := s.shelf.find(sc.network)
	if sh == nil {
		sh = &shelved{router: sc.network, sources: make(map[netip.Addr]*source)}
		s.shelf.nets = append(s.shelf.nets, sh)
	}
	if sh.router.HWAddr == "" {
		sh.router.HWAddr = sc.network.HWAddr
	}
	if old := sh.sources[sc.addr]; old != nil {
		s.shelf.npairs -= len(old.pairs)
	}
	sh.sources[sc.addr] = sc
	sh.trans = sh.trans&^tr | saved
	sh.saved |= saved
	sh.left = now
	s.shelf.npairs += len(sc.pairs)
	s.shelf.bump(sh)
	s.shelf.trim(s.maxNets, s.maxPairs)
}

// hasTranslated reports whether a live source needs the translator tr.
func (s *Store) hasTranslated(tr flags) bool {
	for _, o := range s.sources {
		if translated(o.addr) == tr {
			return true
		}
	}
	return false
}

// restore takes the source addr, on network n, back from the memory of n: its
// pairs, its health (a dead or suspect source comes back Unknown, to be tried
// again) and its family's translator flags if they are not known now. It returns
// nil when nothing is kept of addr on n. While n's router has no known MAC
// address, several networks with that router's IP address may match (home
// routers share 192.168.1.1): the most recently left one that kept addr is
// taken, and once the MAC is known, a wrong guess is set aside again and the
// right network's memory restored (see syncSources).
func (s *Store) restore(addr netip.Addr, n netstate.Network, now time.Time) *source {
	i := len(s.shelf.nets) - 1
	for ; i >= 0; i-- {
		sh := s.shelf.nets[i]
		if sc := sh.sources[addr]; sc != nil && sh.matches(n) && sc.network.Same(n) {
			break
		}
	}
	if i < 0 {
		return nil
	}
	sh := s.shelf.nets[i]
	sc := sh.sources[addr]
	delete(sh.sources, addr)
	s.shelf.npairs -= len(sc.pairs)
	if len(sh.sources) == 0 {
		s.shelf.nets = slices.Delete(s.shelf.nets, i, i+1)
	}
	if tr := translated(addr); tr != 0 && sh.saved&tr != 0 && s.flags&tr == 0 {
		s.setFlags(s.flags|sh.trans&tr, now)
	}
	sc.kernel, sc.router, sc.failures, sc.farFail = false, false, 0, false
	sc.nextCheck, sc.backoff = time.Time{}, 0
	if sc.health != Alive {
		sc.health, sc.since = Unknown, now
	}
	s.sources[addr] = sc
	s.npairs += len(sc.pairs)
	s.changed = now
	s.log.Info("source back on a known network", zap.Stringer("src", addr), zap.Int("pairs", len(sc.pairs)))
	s.evict()
	return sc
}

// find returns the memory of network n, or nil.
func (sf *shelf) find(n netstate.Network) *shelved {
	for _, sh := range sf.nets {
		if sh.matches(n) {
			return sh
		}
	}
	return nil
}

// bump makes sh the most recently left network.
func (sf *shelf) bump(sh *shelved) {
	if i := slices.Index(sf.nets, sh); i >= 0 {
		sf.nets = append(slices.Delete(sf.nets, i, i+1), sh)
	}
}

// trim forgets the least recently left networks while there are more than
// maxNets or they hold more than maxPairs pairs.
func (sf *shelf) trim(maxNets, maxPairs int) {
	for len(sf.nets) > 0 && (len(sf.nets) > maxNets || sf.npairs > maxPairs) {
		for _, sc := range sf.nets[0].sources {
			sf.npairs -= len(sc.pairs)
		}
		sf.nets = slices.Delete(sf.nets, 0, 1)
	}
}

// Networks returns how many networks the Store remembers that the host has left.
func (s *Store) Networks() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.shelf.nets)
}
