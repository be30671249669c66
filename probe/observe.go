package probe

import (
	"net/netip"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// Observe applies a change of the host at once:
//
//   - an address that is gone loses its pairs and its health;
//   - a new address starts fresh (Unknown);
//   - the sources on a link that is down (not Running) or that has no route left
//     are dead until a later snapshot shows the link and a route back (then they
//     start fresh again);
//   - when the network changed substantially for a family (its default gateway
//     changed, or none of its prefixes is left from before), the measured history
//     of that family's pairs to destinations beyond the link is dropped, and that
//     family's translator flags (NAT44 or NPTv6, and their Tried flags) are reset so
//     the translator is detected again.
//
// Observe ignores a snapshot it has already seen and one older (by Generation)
// than the last it applied, so that several subscribers may call it.
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
	s.snap = snap
	s.syncSources(snap, now)
	if prev == nil {
		s.changed = now
		return
	}
	for _, is6 := range []bool{false, true} {
		if substantial(prev, snap, is6) {
			s.forget(is6, now)
		}
	}
	ula0, priv0 := presence(prev)
	ula1, priv1 := presence(snap)
	if ula0 != ula1 || priv0 != priv1 || prev.Gateway4 != snap.Gateway4 || prev.Gateway6 != snap.Gateway6 {
		s.changed = now
	}
}

// syncSources makes the sources those of snap: purges the gone, adds the new and
// applies the kernel's verdict (link down, no route).
func (s *Store) syncSources(snap *netstate.Snapshot, now time.Time) {
	present := make(map[netip.Addr]netstate.Addr, len(snap.Addrs))
	for _, a := range snap.Addrs {
		if a.Usable() {
			present[addrKey(a.IP)] = a
		}
	}
	for k, sc := range s.sources {
		if _, ok := present[k]; !ok {
			s.log.Info("source gone", zap.Stringer("src", k), zap.Int("pairs", len(sc.pairs)))
			s.removeSource(sc, now)
		}
	}
	for k, a := range present {
		sc := s.sources[k]
		if sc == nil {
			sc = s.addSource(k, now)
		}
		sc.prefix = a.Prefix()
		switch down := kernelDown(snap, a); {
		case down && !(sc.health == Dead && sc.kernel):
			s.log.Info("source down", zap.Stringer("src", k), zap.String("interface", a.Interface))
			s.kill(sc, now, true)
		case !down && sc.health == Dead && sc.kernel:
			sc.kernel, sc.failures, sc.farFail = false, 0, false
			s.setHealth(sc, Unknown, now)
		}
	}
}

// kernelDown reports whether the kernel cannot send from a: its link is known and
// not running, or the snapshot knows routes of a's family but none through a's link.
// A snapshot without links or without routes of the family (a fake, or a platform
// that does not report them) says nothing.
func kernelDown(snap *netstate.Snapshot, a netstate.Addr) bool {
	if l, ok := snap.Link(a.Index); ok && (!l.Up || !l.Running) {
		return true
	}
	known, through := false, false
	for _, r := range snap.Routes {
		if r.Dst.Addr().Is6() != a.IP.Is6() {
			continue
		}
		known = true
		if r.Type == netstate.Unicast && r.Index == a.Index {
			through = true
			break
		}
	}
	return known && !through
}

// substantial reports whether the network of one family changed enough that what
// was measured no longer applies: its default gateway changed, or it had prefixes
// before and has prefixes now but none in common.
func substantial(prev, cur *netstate.Snapshot, is6 bool) bool {
	gw0, gw1 := prev.Gateway4, cur.Gateway4
	if is6 {
		gw0, gw1 = prev.Gateway6, cur.Gateway6
	}
	if gw0 != gw1 {
		return true
	}
	p0, p1 := prefixes(prev, is6), prefixes(cur, is6)
	if len(p0) == 0 || len(p1) == 0 {
		return false
	}
	for p := range p1 {
		if _, ok := p0[p]; ok {
			return false
		}
	}
	return true
}

// prefixes returns the family's on-link prefixes of snap, link-local ones excepted.
func prefixes(snap *netstate.Snapshot, is6 bool) map[netip.Prefix]struct{} {
	out := make(map[netip.Prefix]struct{})
	for _, a := range snap.Addrs {
		if a.IP.Is6() == is6 && a.Usable() && !a.IP.IsLinkLocalUnicast() {
			out[a.Prefix()] = struct{}{}
		}
	}
	return out
}

// forget drops the family's pairs to destinations beyond the link and resets its
// translator flags, after a substantial change.
func (s *Store) forget(is6 bool, now time.Time) {
	dropped := 0
	for _, sc := range s.sources {
		if sc.addr.Is6() != is6 {
			continue
		}
		for _, p := range sc.pairs {
			if !s.onLink(p.dst) {
				s.dropPair(sc, p)
				dropped++
			}
		}
	}
	tr := flagsNAT44
	if is6 {
		tr = flagsNPTv6
	}
	s.log.Info("network changed: measured history dropped", zap.Bool("ipv6", is6), zap.Int("pairs", dropped))
	s.setFlags(s.flags&^tr, now)
	s.changed = now
}
