package pairs

import (
	"context"
	"net/netip"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// probePort is the port an eager prober measures a destination on when the query
// gave none (LookupNetIP). A refused connect proves the path as well as an
// accepted one, so any port will do.
const probePort = 80

// want hands the destinations of q to the prober, so that they get measured,
// on q's port. The prober connects over TCP: destinations asked for over UDP
// are never handed over (a TCP probe to them would be traffic the program did
// not ask for), nor are those of a lookup (LookupNetIP, no port), unless the
// prober is eager, which measures them on port 80. Loopback destinations have
// nothing to learn. A quiet prober is handed the addresses of what the program
// dials (Attempts, Stream), not of what it only asks about (Get, LookupNetIP),
// and, by Report, any address a connect of its own went to.
func (s *Selector) want(e *engine, q Query, dsts []netip.Addr) {
	if e.prober == nil {
		return
	}
	base, _, err := parseNetwork(q.Network)
	if err != nil {
		return
	}
	port := q.Port
	switch base {
	case "tcp":
	case "ip":
		if !s.cfg.eager {
			return
		}
		port = probePort
	default:
		return
	}
	for _, d := range dsts {
		if !d.IsLoopback() {
			e.prober.Want(netip.AddrPortFrom(d, port))
		}
	}
}

// probeCandidates is the prober's Candidates: the pairs to dst under the same rules
// as a ranking (an NPTv6 or NAT44 translator not yet tried is tried, an IPv4 dst
// is synthesized under the NAT64 prefixes known), as w sees the host, dead
// sources included, unroutable pairs left out.
func (s *Selector) probeCandidates(w netstate.Watcher, dst netip.AddrPort) []probe.Path {
	d := normalizeLiteral(dst.Addr())
	if netstate.Classify(d) == netstate.Loopback {
		return nil
	}
	v := s.currentView(w)
	in := &rankInput{srcs: v.srcs, pref64: s.knownPREF64s(v)} // the prefixes known: the prober waits for none
	v.candidates(context.Background(), w, in, []netip.Addr{d}, netip.Addr{}, s.store.Translators(), s.cfg.policy)
	out := make([]probe.Path, 0, len(in.cands))
	for _, c := range in.cands {
		out = append(out, probe.Path{
			Src: netip.AddrPortFrom(in.srcs[c.src].addr.IP, 0),
			Dst: netip.AddrPortFrom(in.dsts[c.dst].attr.ip, dst.Port()),
		})
	}
	return out
}
