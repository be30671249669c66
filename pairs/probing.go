package pairs

import (
	"context"
	"net/netip"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// probePort is the port the prober measures a destination on when the query
// gave none (LookupNetIP). A refused connect proves the path as well as an
// accepted one, so any port will do.
const probePort = 80

// want hands the destinations asked for to the prober, so that they get measured.
// Loopback destinations have nothing to learn.
func (s *Selector) want(dsts []netip.Addr, port uint16) {
	if s.prober == nil {
		return
	}
	if port == 0 {
		port = probePort
	}
	for _, d := range dsts {
		if !d.IsLoopback() {
			s.prober.Want(netip.AddrPortFrom(d, port))
		}
	}
}

// probeCandidates is the prober's Candidates: the pairs to dst under the same rules
// as a ranking (an NPTv6 or NAT44 translator not yet tried is tried), dead sources
// included, unroutable pairs left out.
func (s *Selector) probeCandidates(dst netip.AddrPort) []probe.Path {
	d := normalizeLiteral(dst.Addr())
	if netstate.Classify(d) == netstate.Loopback {
		return nil
	}
	v := s.currentView()
	in := &rankInput{srcs: v.srcs}
	v.candidates(context.Background(), s.watcher, in, []netip.Addr{d}, netip.Addr{}, s.store.Translators(), s.cfg.policy)
	out := make([]probe.Path, 0, len(in.cands))
	for _, c := range in.cands {
		out = append(out, probe.Path{
			Src: netip.AddrPortFrom(in.srcs[c.src].addr.IP, 0),
			Dst: netip.AddrPortFrom(in.dsts[c.dst].attr.ip, dst.Port()),
		})
	}
	return out
}
