package netstate

import "net/netip"

// guessRoute is RouteFor where the system's routes cannot be read: the packet
// leaves by the interface of src; without src, by the interface its zone names,
// else by the first running interface that has a usable address of dst's family
// (link-local for a link-local dst), and Decision.Src stays unset: which source the
// system would choose is not known here. An unknown src is NoRoute, as is a family
// nobody has.
func (s *Snapshot) guessRoute(src, dst netip.Addr) (Decision, error) {
	src, dst = src.Unmap(), dst.Unmap()
	fail := func(k RouteErrorKind) (Decision, error) {
		return Decision{}, &RouteError{Src: src, Dst: dst, Kind: k}
	}
	if !dst.IsValid() || dst.IsUnspecified() {
		return fail(NoRoute)
	}
	if hasSrc(src) {
		a, ok := s.Addr(src)
		switch {
		case !ok:
			return fail(NoRoute)
		case !a.Usable() || a.IP.Is6() != dst.Is6():
			return fail(BadSource)
		}
		return Decision{Index: a.Index, Interface: a.Interface, Src: a.IP}, nil
	}
	oif, ok := s.zoneIndex(dst)
	if !ok {
		return fail(NoRoute)
	}
	for _, a := range s.Sources() {
		l, _ := s.Link(a.Index)
		if a.IP.Is6() != dst.Is6() || a.IP.IsLinkLocalUnicast() != dst.IsLinkLocalUnicast() ||
			!l.Running || (oif != 0 && a.Index != oif) {
			continue
		}
		return Decision{Index: a.Index, Interface: a.Interface}, nil
	}
	return fail(NoRoute)
}
