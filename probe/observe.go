package probe

import (
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// Observe applies a change of the host at once (see netstate.Changes for what a
// change is):
//
//   - an address that is gone, or is now on another network (its link's default
//     router or its prefix changed, see netstate.Network), is set aside with its
//     pairs and health: what was learned on a network is restored when the
//     address is back on that network, so that a host returning to a known
//     network ranks by measured values at once (see Store.Networks);
//   - an address new to the Store starts fresh (Unknown);
//   - the sources on a link that is down (not Running) or has no route left are
//     dead until a later snapshot shows the link and a route back;
//   - the sources whose link's default router of their family is FAILED in the
//     kernel's neighbour cache are suspect, and re-checked (Linux refuses an IPv6
//     default route through a FAILED router until it has solicited it again);
//   - the sources on a link where something came back (carrier, a default route,
//     an address, a router that answers again) are re-checked at once, with their
//     backoff started over, and a translator (NAT44, NPTv6) that was tried
//     through that link without success is tried again;
//   - when a source of a translated class (RFC 1918, 100.64/10, ULA) is set aside
//     and no other is left, that family's translator flags go back to "not tried",
//     so such pairs stay candidates until a probe proves otherwise; coming back to
//     the network restores them.
//
// Observe ignores a snapshot it has already seen and one older (by Generation)
// than the last it applied.
func (s *Store) Observe(snap *netstate.Snapshot) {
	if snap == nil {
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.snap
	if snap == prev || (prev != nil && snap.Generation < prev.Generation) {
		return
	}
	s.bump(true)
	d := netstate.Changes(prev, snap)
	s.snap = snap
	s.syncSources(snap, now)
	s.routerEvidence(snap, now)
	s.revive(d, now)
	if prev == nil || d.GatewaysChanged() {
		s.changed = now
		return
	}
	ula0, priv0 := presence(prev)
	ula1, priv1 := presence(snap)
	if ula0 != ula1 || priv0 != priv1 {
		s.changed = now
	}
}

// syncSources makes the sources those of snap: sets aside the gone and those that
// moved to another network, restores or adds the new, and applies the kernel's
// verdict (link down, no route).
func (s *Store) syncSources(snap *netstate.Snapshot, now time.Time) {
	present := make(map[netip.Addr]netstate.Addr, len(snap.Addrs))
	for _, a := range snap.Addrs {
		if a.Usable() {
			present[addrKey(a.IP)] = a
		}
	}
	for k, sc := range s.sources {
		a, ok := present[k]
		switch {
		case !ok:
			s.log.Info("source gone", zap.Stringer("src", k), zap.Int("pairs", len(sc.pairs)))
			s.setAside(sc, now)
		case sc.link != 0 && !sc.network.Same(snap.NetworkOf(a)):
			s.log.Info("source on another network", zap.Stringer("src", k), zap.Stringer("router", snap.NetworkOf(a).Router))
			s.setAside(sc, now)
		}
	}
	for k, a := range present {
		sc := s.sources[k]
		n := snap.NetworkOf(a)
		if sc == nil {
			if sc = s.restore(k, n, now); sc == nil {
				sc = s.addSource(k, now)
			}
		}
		if sc.network.HWAddr == "" || n.HWAddr != "" {
			sc.network = n
		}
		sc.prefix, sc.link = a.Prefix(), a.Index
		switch down := snap.KernelDown(a); {
		case down && !(sc.health == Dead && sc.kernel):
			s.log.Info("source down", zap.Stringer("src", k), zap.String("interface", a.Interface))
			s.kill(sc, now, true)
		case !down && sc.health == Dead && sc.kernel:
			sc.kernel, sc.failures, sc.farFail = false, 0, false
			s.setHealth(sc, Unknown, now)
		}
	}
}

// routerEvidence makes the sources whose default router (RouterOf) is
// FAILED suspect and due for a re-check (whose connects make the kernel solicit
// the router again), and lets those whose router is back go: it answered
// (REACHABLE or STALE), or the source has no router any more. A router being
// solicited again (INCOMPLETE, as it is between two FAILED while something
// sends through it) or whose entry was dropped is not back: the episode goes
// on, and its sources are not made suspect and re-checked once per
// solicitation.
func (s *Store) routerEvidence(snap *netstate.Snapshot, now time.Time) {
	for _, sc := range s.sources {
		st, has := netstate.NeighNone, false
		if sc.link != 0 {
			var gw netip.Addr
			if gw, has = snap.RouterOf(netstate.Addr{IP: sc.addr, Index: sc.link}); has {
				n, _ := snap.Neighbor(sc.link, gw)
				st = n.State
			}
		}
		failed := st == netstate.NeighFailed
		back := !has || st == netstate.NeighReachable || st == netstate.NeighStale
		switch {
		case failed && !sc.router:
			sc.router = true
			s.log.Info("default router failed", zap.Stringer("src", sc.addr), zap.Stringer("health", sc.health))
			if sc.health == Dead {
				continue // its own re-checks go on
			}
			if sc.health != Suspect {
				s.setHealth(sc, Suspect, now)
			}
			s.schedule(sc, now)
		case back && sc.router:
			sc.router = false
			if sc.health == Suspect && sc.failures == 0 {
				s.setHealth(sc, Unknown, now)
			}
		}
	}
}

// revive re-checks at once the sources on the links where something came back
// that are dead, suspect, or were known before and not since, and has the translators that were tried through such a
// link without success tried again.
func (s *Store) revive(d netstate.ChangeDelta, now time.Time) {
	links := d.Revived()
	if len(links) == 0 {
		return
	}
	var retry flags
	for _, sc := range s.sources {
		if !slices.Contains(links, sc.link) {
			continue
		}
		if sc.health == Suspect || (sc.health == Dead && !sc.kernel) || (sc.health == Unknown && len(sc.pairs) > 0) {
			s.log.Debug("link revived: re-check", zap.Stringer("src", sc.addr), zap.Stringer("health", sc.health))
			s.schedule(sc, now)
		}
		retry |= translated(sc.addr)
	}
	s.setFlags(s.flags.untried(retry), now)
}

// untried returns f without the verdicts "tried, not seen" of the translators in
// which (flagsNAT44, flagsNPTv6 or both).
func (f flags) untried(which flags) flags {
	for _, t := range [...]struct{ all, tried flags }{{flagsNAT44, flagNAT44Tried}, {flagsNPTv6, flagNPTv6Tried}} {
		if which&t.all != 0 && f&t.all == t.tried {
			f &^= t.all
		}
	}
	return f
}

// translated returns the translator flags of the family a translated source
// depends on (flagsNAT44 for RFC 1918 and 100.64/10, flagsNPTv6 for ULA), or 0
// for a source that needs no translator.
func translated(src netip.Addr) flags {
	switch netstate.Classify(src) {
	case netstate.Private4, netstate.Shared4:
		return flagsNAT44
	case netstate.ULA:
		return flagsNPTv6
	}
	return 0
}
