package pairs

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/getapr/getapr/internal/nat64"
	"github.com/getapr/getapr/netstate"
)

// filterLocal keeps the destinations a local address allows, as net.Dialer
// does with its LocalAddr: an unspecified (or no) local address allows all,
// one of a family allows that family and unspecified destinations. When none
// is left, the error is net.Dialer's.
func filterLocal(dsts []netip.Addr, local netip.AddrPort) ([]netip.Addr, error) {
	l := local.Addr()
	if !l.IsValid() || l.IsUnspecified() {
		return dsts, nil
	}
	out := dsts[:0]
	for _, d := range dsts {
		if d.Is4() == l.Is4() || d.IsUnspecified() {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return nil, &net.AddrError{Err: "no suitable address found", Addr: local.String()}
	}
	return out, nil
}

// fallbackPairs returns the pairs of a query the rules left without any: for
// each destination of npe, the dial net.Dialer would make, from q.Local (an
// unspecified address of the destination's family when q has none, meaning
// "the kernel chooses"). That covers destinations the rules do not pair
// (unspecified, multicast, broadcast addresses), hosts where no source is
// known (only loopback, or read without rtnetlink and /proc), a LocalAddr
// outside the known sources, and routes the kernel refuses: the dial then
// fails as net.Dialer's would, with the kernel's errno. Destinations the
// kernel has a route to come first, then the racing order applies.
func (s *Selector) fallbackPairs(ctx context.Context, q Query, npe *NoPairError) []Pair {
	e := s.use()
	defer s.release()
	v := s.currentView(e.watcher)
	// NoNAT64: an IPv4 destination without a route, and no NAT64 prefix that
	// could have reached it over IPv6 (nor a caller's local address that
	// rules IPv6 out, or explains the failure itself).
	_, f, _ := parseNetwork(q.Network)
	l := q.Local.Addr()
	noNAT64 := f.v6 && (!l.IsValid() || l.IsUnspecified()) && len(s.knownPREF64s(v)) == 0
	ps := make([]Pair, 0, len(npe.dsts))
	routable := make(map[netip.Addr]bool, len(npe.dsts))
	for i, d := range npe.dsts {
		src := q.Local.Addr()
		if !src.IsValid() || src.IsUnspecified() {
			src = netip.IPv4Unspecified()
			if d.Is6() {
				src = netip.IPv6Unspecified()
			}
		}
		p := Pair{
			Src:      netip.AddrPortFrom(src, q.Local.Port()),
			Dst:      netip.AddrPortFrom(d, q.Port),
			SrcClass: netstate.Classify(src),
			DstClass: netstate.Classify(d),
			Fallback: true,
			Reason:   "fallback: the kernel's route, as net.Dialer",
		}
		if i < len(npe.Reasons) {
			p.Reason += " (" + strings.TrimPrefix(npe.Reasons[i], d.String()+": ") + ")"
		}
		routable[d] = v.kernelChoice(ctx, e.watcher, d, nil).IsValid()
		p.NoNAT64 = noNAT64 && d.Is4() && nat64.Translatable(d) && !routable[d]
		ps = append(ps, p)
	}
	slices.SortStableFunc(ps, func(a, b Pair) int {
		ra, rb := routable[a.Dst.Addr()], routable[b.Dst.Addr()]
		switch {
		case ra == rb:
			return 0
		case ra:
			return -1
		}
		return 1
	})
	return Order(ps, s.cfg.firstFamilyCount)
}
