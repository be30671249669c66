package probe

import (
	"net/netip"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/nat64"
	"github.com/getapr/getapr/netstate"
)

// flags are the Status flags learned from outcomes.
type flags uint16

const (
	flagGUAOK flags = 1 << iota
	flagULAOK
	flagLLAOK
	flagIPv4OK
	flagNPTv6
	flagNPTv6Tried
	flagNAT44
	flagNAT44Tried

	flagsNPTv6 = flagNPTv6 | flagNPTv6Tried // the IPv6 translator flags
	flagsNAT44 = flagNAT44 | flagNAT44Tried // the IPv4 translator flags
)

var flagNames = [...]string{"GUA_ok", "ULA_ok", "LLA_ok", "IPv4_ok", "NPTv6", "NPTv6_tried", "NAT44", "NAT44_tried"}

func (f flags) has(g flags) bool { return f&g == g }

func (f flags) translators() Translators {
	return Translators{
		NPTv6: f.has(flagNPTv6), NPTv6Tried: f.has(flagNPTv6Tried),
		NAT44: f.has(flagNAT44), NAT44Tried: f.has(flagNAT44Tried),
	}
}

// learned returns the flags one conclusive attempt from src to dst sets.
func learned(src, dst netip.Addr, works bool) flags {
	sc, dc := netstate.Classify(src), netstate.Classify(dst)
	var f flags
	if works {
		switch {
		case sc == netstate.GUA:
			f |= flagGUAOK
		case sc == netstate.ULA:
			f |= flagULAOK
		}
		if sc.LinkLocal() {
			f |= flagLLAOK
		}
		if sc.Is4() {
			f |= flagIPv4OK
		}
	}
	switch {
	case sc == netstate.ULA && dc == netstate.GUA:
		f |= flagNPTv6Tried
		if works {
			f |= flagNPTv6
		}
	case (sc == netstate.Private4 || sc == netstate.Shared4) && dc == netstate.Global4:
		f |= flagNAT44Tried
		if works {
			f |= flagNAT44
		}
	}
	return f
}

// noteFlags sets the flags a conclusive attempt from sc to dst, made from start
// to now, teaches. A failure through a translator says the translator is absent
// ("tried", not seen) only when another source on the same link reached a
// destination beyond it during the attempt: otherwise the link itself may be
// down, and the translator is left to be tried again.
func (s *Store) noteFlags(sc *source, dst netip.Addr, works bool, start, now time.Time) {
	f := learned(sc.addr, dst, works)
	if f&(flagNAT44Tried|flagNPTv6Tried) != 0 && s.untranslated(dst) {
		f &^= flagsNAT44 | flagsNPTv6
	}
	if !works && f&(flagNAT44Tried|flagNPTv6Tried) != 0 && s.snap != nil && !s.linkWorked(sc, start) {
		f &^= flagNAT44Tried | flagNPTv6Tried
	}
	s.setFlags(s.flags|f, now)
}

// untranslated reports whether a connect to dst needs no NPTv6 or NAT44
// translator whatever its source: dst is on a link of the host, or an address
// under a NAT64 prefix (see WithNAT64Prefixes), which the NAT64 translates.
func (s *Store) untranslated(dst netip.Addr) bool {
	if s.onLink(dst) {
		return true
	}
	if !dst.Is6() {
		return false
	}
	if nat64.WellKnownPrefix.Contains(dst) || nat64Local.Contains(dst) {
		return true
	}
	if s.snap != nil && slices.ContainsFunc(s.snap.PREF64s, func(p netstate.PREF64) bool { return p.Prefix.Contains(dst) }) {
		return true
	}
	return s.nat64 != nil && slices.ContainsFunc(s.nat64(), func(p netip.Prefix) bool { return p.Contains(dst) })
}

// linkWorked reports whether another source on sc's link has had a result that
// proved a path to a destination beyond the link since start.
func (s *Store) linkWorked(sc *source, start time.Time) bool {
	for _, o := range s.sources {
		if o == sc || o.link != sc.link || o.link == 0 {
			continue
		}
		for _, p := range o.pairs {
			if p.working && !p.stats.LastSuccess.Before(start) && !s.onLink(p.dst) {
				return true
			}
		}
	}
	return false
}

// setFlags replaces the learned flags, logging what was set or cleared.
func (s *Store) setFlags(f flags, now time.Time) {
	old := s.flags
	if f == old {
		return
	}
	for i, name := range flagNames {
		bit := flags(1) << i
		if (old^f)&bit != 0 {
			s.log.Info("status flag changed", zap.String("flag", name), zap.Bool("set", f&bit != 0))
		}
	}
	s.flags = f
	s.trans.Store(uint32(f))
	s.changed = now
}

// presence returns whether snap has a ULA source and an RFC 1918 or 100.64/10 one.
func presence(snap *netstate.Snapshot) (ula, rfc1918 bool) {
	for _, a := range snap.Addrs {
		if !a.Usable() {
			continue
		}
		switch a.Class() {
		case netstate.ULA:
			ula = true
		case netstate.Private4, netstate.Shared4:
			rfc1918 = true
		}
	}
	return ula, rfc1918
}

// Status returns the status flags, the default gateways and the health of every
// source. ULA_present, RFC1918 and the gateways come from the last snapshot passed
// to Observe; Sources lists its usable addresses in snapshot order (before any
// Observe: every source seen in a Report, in address order).
func (s *Store) Status() Status {
	st := s.status()
	// Sorted outside the lock: behind a captive portal every pair may be
	// intercepted, thousands, and Reports wait while the lock is held.
	slices.SortFunc(st.Middleboxes, compareMiddleboxes)
	return st
}

// status is Status with its Middleboxes in no order.
func (s *Store) status() Status {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f := s.flags
	st := Status{
		GUAOK: f.has(flagGUAOK), ULAOK: f.has(flagULAOK), LLAOK: f.has(flagLLAOK), IPv4OK: f.has(flagIPv4OK),
		NPTv6: f.has(flagNPTv6), NPTv6Tried: f.has(flagNPTv6Tried),
		NAT44: f.has(flagNAT44), NAT44Tried: f.has(flagNAT44Tried),
		Changed:     s.changed,
		Middleboxes: s.middleboxes(time.Now()),
	}
	if s.snap == nil {
		for _, sc := range s.sources {
			st.Sources = append(st.Sources, sc.status(netstate.Addr{IP: sc.addr}))
		}
		slices.SortFunc(st.Sources, func(a, b SourceStatus) int { return a.Addr.Compare(b.Addr) })
		return st
	}
	st.ULAPresent, st.RFC1918 = presence(s.snap)
	st.Gateway4, st.Gateway6 = s.snap.Gateway4, s.snap.Gateway6
	st.Sources = make([]SourceStatus, 0, len(s.sources))
	for _, a := range s.snap.Addrs {
		if sc := s.sources[addrKey(a.IP)]; sc != nil && a.Usable() {
			st.Sources = append(st.Sources, sc.status(a))
		}
	}
	return st
}

// status is the SourceStatus of sc, configured as a.
func (sc *source) status(a netstate.Addr) SourceStatus {
	return SourceStatus{
		Addr:      a.IP,
		Interface: a.Interface,
		Class:     a.Class().String(),
		Health:    sc.health,
		Since:     sc.since,
		Failures:  sc.failures,
		NextCheck: sc.nextCheck,
	}
}
