package pairs

import (
	"context"
	"net/netip"
	"slices"
	"time"

	"github.com/getapr/getapr/internal/nat64"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// nat64Prefixes returns the links' NAT64 prefixes for a query to dsts under
// view v of w: the RA's, DNS's (RFC 7050) and configured ones (see
// nat64Facts.prefixes). When an IPv6-only link lacks an RA prefix, the DNS
// discovery is started only for a query with an IPv4 destination that might
// need synthesis (a dial to a loopback or IPv6 address sends no query), and
// waited for, bounded by ctx, only when the host has no native IPv4:
// otherwise synthesized pairs come after the native ones, and a slow or
// failing lookup must not hold every IPv4 dial (the next dials have its
// answer). Without native IPv4, the routers of such links are also asked for
// an RA (see awaitPREF64), and the prefixes are those of the snapshot it
// brought. The discovery asks the Selector's resolver, whatever q's (the
// question is the local network's DNS64, and ipv4only.arpa tells nothing of
// the application's names).
func (s *Selector) nat64Prefixes(ctx context.Context, w netstate.Watcher, v *view, dsts []netip.Addr) []netstate.PREF64 {
	var dns []netip.Prefix
	if f := &v.nat64; s.dns64 != nil && f.needsDNS() {
		switch {
		case !needsSynthesis(dsts):
			dns, _ = s.dns64.known(f.net)
		case f.native4:
			s.dns64.start(f.net)
			dns, _ = s.dns64.known(f.net)
		default:
			dns = s.awaitPREF64(ctx, w, f)
			v = s.currentView(w)
		}
	}
	return v.nat64.prefixes(v.snap, dns, s.cfg.pref64)
}

// solicitPREF64 asks the routers of f's IPv6-only links that gave no NAT64
// prefix for a Router Advertisement, when due (see routerSolicits), and
// returns until when their answer may come: zero when none is awaited. It
// asks only where nothing else gave a prefix: the RFC 7050 discovery of f's
// network has ended with none, none is configured for the link, and the
// Selector runs (a closed one asks nothing, as it looks nothing up).
func (s *Selector) solicitPREF64(w netstate.Watcher, f *nat64Facts) time.Time {
	if s.dns64 == nil || s.life.running.Load() == nil {
		return time.Time{}
	}
	if dns, known := s.dns64.known(f.net); !known || len(dns) > 0 {
		return time.Time{}
	}
	links := f.withoutRA()
	if len(s.cfg.pref64) > 0 {
		snap := w.Snapshot()
		links = slices.DeleteFunc(links, func(i int) bool {
			l, _ := snap.Link(i) // an unknown link has no name: only a prefix for every link covers it
			_, ok := configuredFor(s.cfg.pref64, l.Name)
			return ok
		})
	}
	return s.solicits.solicit(w, links, time.Now(), s.log)
}

// awaitPREF64 is the wait of a dial that needs a NAT64 prefix on a host
// without native IPv4: for the RFC 7050 discovery of f's network, then, when
// that found none, for the routers' answer to a Router Solicitation (see
// solicitPREF64): until one of f's IPv6-only links has a prefix from an RA,
// at most raWait. It returns the discovery's prefixes.
func (s *Selector) awaitPREF64(ctx context.Context, w netstate.Watcher, f *nat64Facts) []netip.Prefix {
	dns := s.dns64.wait(ctx, f.net)
	if len(dns) == 0 {
		awaitRAPrefix(ctx, w, f.v6only, s.solicitPREF64(w, f))
	}
	return dns
}

// knownPREF64s returns the links' NAT64 prefixes known now under view v,
// without waiting or starting anything: for turning DNS64 answers back into
// IPv4 and for Status.
func (s *Selector) knownPREF64s(v *view) []netstate.PREF64 {
	var dns []netip.Prefix
	if f := &v.nat64; s.dns64 != nil && f.needsDNS() {
		dns, _ = s.dns64.known(f.net)
	}
	return v.nat64.prefixes(v.snap, dns, s.cfg.pref64)
}

// desynthesisPrefixes returns the prefixes under which DNS64 answers are
// turned back into IPv4 under view v: the links' (prefs), and every other
// prefix the RFC 7050 discovery found for v's network. A DNS64 may answer
// under any of them (RFC 7050 section 3); synthesis takes the first.
func (s *Selector) desynthesisPrefixes(v *view, prefs []netstate.PREF64) []netstate.PREF64 {
	if s.dns64 == nil || !v.nat64.needsDNS() {
		return prefs
	}
	dns, _ := s.dns64.known(v.nat64.net)
	prefs = slices.Clip(prefs) // appends copy: prefs may be shared
	for _, p := range dns {
		if !slices.ContainsFunc(prefs, func(q netstate.PREF64) bool { return q.Prefix == p }) {
			prefs = append(prefs, netstate.PREF64{Prefix: p, Source: netstate.PREF64DNS})
		}
	}
	return prefs
}

// needsSynthesis reports whether one of dsts is an IPv4 address a NAT64 could
// reach.
func needsSynthesis(dsts []netip.Addr) bool {
	for _, d := range dsts {
		if d.Is4() && nat64.Translatable(d) {
			return true
		}
	}
	return false
}

// addNAT64 fills st's NAT64 fields from the prefixes known now under view v of
// watcher w.
func (s *Selector) addNAT64(st *probe.Status, w netstate.Watcher, v *view) {
	snap := v.snap
	prefs := s.knownPREF64s(v)
	if len(prefs) == 0 {
		return
	}
	st.NAT64 = true
	best := prefs[0]
	for _, p := range prefs {
		l, _ := snap.Link(p.Index)
		if gw := snap.Gateway6; gw.IsValid() && l.Name != "" && gw.Zone() == l.Name {
			best = p
			break
		}
	}
	st.PREF64, st.PREF64Source = best.Prefix, best.Source.String()
	st.NAT64Links = make([]probe.NAT64Link, len(prefs))
	var live []netstate.PREF64 // the RA prefixes' expiry now (the snapshot's may be older)
	if m, ok := w.(*netstate.Monitor); ok {
		live = m.PREF64s()
	}
	for i, p := range prefs {
		l, _ := snap.Link(p.Index)
		for _, q := range live {
			if q.Index == p.Index && q.Prefix == p.Prefix && q.Source == p.Source && q.Router == p.Router {
				p.Expires = q.Expires
			}
		}
		st.NAT64Links[i] = probe.NAT64Link{Interface: l.Name, Prefix: p.Prefix, Source: p.Source.String(),
			Router: p.Router, Expires: p.Expires}
	}
}

// dns64Basis returns the ended RFC 7050 lookup that gives view v's network its
// NAT64 prefixes, taken before a ranking: the prefixes are not in the view, so
// a remembered racing order holds only while this lookup is the one answered.
// It is nil when v's network needs no lookup, or its lookup has not answered,
// or failed long enough ago to be made again. An answer old enough to be
// looked up again (dns64Refresh) is, in the background: a remembered order
// holds until the new answer replaces it, as a ranking's prefixes would.
func (s *Selector) dns64Basis(v *view) *dns64Check {
	if s.dns64 == nil || !v.nat64.needsDNS() {
		return nil
	}
	now := time.Now()
	if c := s.dns64.answered(v.nat64.net); c != nil && !c.stale(now) {
		if c.due(now) {
			s.dns64.start(v.nat64.net) // never blocks
		}
		return c
	}
	return nil
}
