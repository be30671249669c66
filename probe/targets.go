package probe

import (
	"net/netip"
	"slices"
	"time"

	"github.com/getapr/getapr/netstate"
)

// keptTargets returns the destinations that are never dropped: the default
// gateways on the probe port, the configured targets and the Atlas anchors, without
// duplicates, in that order.
func (p *Prober) keptTargets(snap *netstate.Snapshot) []netip.AddrPort {
	var out []netip.AddrPort
	add := func(ap netip.AddrPort) {
		if ap.Addr().IsValid() && !slices.Contains(out, ap) {
			out = append(out, ap)
		}
	}
	if p.status {
		add(netip.AddrPortFrom(snap.Gateway6, p.cfg.Port))
		add(netip.AddrPortFrom(snap.Gateway4, p.cfg.Port))
	}
	for _, t := range p.cfg.Targets {
		add(t)
	}
	for _, a := range p.anchors {
		add(a)
	}
	return out
}

// kept reports whether dst is one of the kept targets. p.mu is held.
func (p *Prober) kept(snap *netstate.Snapshot, dst netip.AddrPort) bool {
	return (p.status && (dst == netip.AddrPortFrom(snap.Gateway6, p.cfg.Port) ||
		dst == netip.AddrPortFrom(snap.Gateway4, p.cfg.Port))) ||
		slices.Contains(p.cfg.Targets, dst) || slices.Contains(p.anchors, dst)
}

// capWanted drops the least recently asked-for destinations until the kept and the
// wanted ones together are at most MaxDestinations. p.mu is held.
func (p *Prober) capWanted(snap *netstate.Snapshot) {
	if len(p.wanted)+2+len(p.cfg.Targets)+len(p.anchors) <= p.cfg.MaxDestinations {
		return // room whatever the kept ones are
	}
	room := max(0, p.cfg.MaxDestinations-len(p.keptTargets(snap)))
	for len(p.wanted) > room {
		var oldest netip.AddrPort
		first := true
		for d, at := range p.wanted {
			if first || at.Before(p.wanted[oldest]) || (at.Equal(p.wanted[oldest]) && d.Compare(oldest) < 0) {
				oldest, first = d, false
			}
		}
		delete(p.wanted, oldest)
		delete(p.pending, oldest)
		delete(p.pendingAt, oldest)
	}
}

// targets returns the target list at now: the kept targets, then the wanted ones,
// most recently asked first, MaxDestinations in all unless the kept ones alone are
// more. A quiet Prober forgets the wanted ones not asked for in QuietWantTTL.
// p.mu is held.
func (p *Prober) targets(snap *netstate.Snapshot, now time.Time) []netip.AddrPort {
	if p.cfg.Quiet {
		for d, at := range p.wanted {
			if now.Sub(at) > QuietWantTTL {
				delete(p.wanted, d)
			}
		}
	}
	p.capWanted(snap)
	out := p.keptTargets(snap)
	wanted := make([]netip.AddrPort, 0, len(p.wanted))
	for d := range p.wanted {
		if !slices.Contains(out, d) {
			wanted = append(wanted, d)
		}
	}
	slices.SortFunc(wanted, func(a, b netip.AddrPort) int {
		if c := p.wanted[b].Compare(p.wanted[a]); c != 0 {
			return c
		}
		return a.Compare(b)
	})
	return append(out, wanted...)
}

// prune forgets the probe times of destinations that are no longer targets.
// p.mu is held.
func (p *Prober) prune(targets []netip.AddrPort) {
	for d := range p.lastDst {
		if !slices.Contains(targets, d) {
			delete(p.lastDst, d)
		}
	}
	for path := range p.lastProbe {
		if _, busy := p.q.byPath[path]; !busy && !slices.Contains(targets, path.Dst) {
			delete(p.lastProbe, path)
		}
	}
}

// candidates returns cfg.Candidates(dst), except that a default gateway is only
// probed from the sources on its own link: from another uplink it cannot answer,
// and its silence would say nothing.
func (p *Prober) candidates(snap *netstate.Snapshot, dst netip.AddrPort) []Path {
	all := p.cfg.Candidates(dst)
	gw := dst.Addr()
	if gw != snap.Gateway4 && gw != snap.Gateway6 {
		return all
	}
	index, ok := gatewayLink(snap, gw)
	if !ok {
		return all
	}
	return slices.DeleteFunc(all, func(c Path) bool {
		a, ok := snap.Addr(c.Src.Addr())
		return ok && a.Index != index
	})
}

// gatewayLink returns the index of the link a gateway is on: the link its zone
// names, the link of a default route through it, or the link of an address whose
// prefix contains it.
func gatewayLink(snap *netstate.Snapshot, gw netip.Addr) (index int, ok bool) {
	if z := gw.Zone(); z != "" {
		for _, l := range snap.Links {
			if l.Name == z {
				return l.Index, true
			}
		}
	}
	bare := gw.WithZone("")
	for _, r := range snap.Routes {
		if r.Dst.Bits() == 0 && r.Index != 0 && r.Gateway.WithZone("") == bare {
			return r.Index, true
		}
	}
	for _, a := range snap.Addrs {
		if !a.IP.IsLinkLocalUnicast() && a.Prefix().Contains(bare) {
			return a.Index, true
		}
	}
	return 0, false
}
