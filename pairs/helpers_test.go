package pairs

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func link(index int, name string) netstate.Link {
	return netstate.Link{Index: index, Name: name, Up: true, Running: true, MTU: 1500}
}

// addr returns an address on interface index/name; "fe80::1/64" style.
func addr(prefix string, index int, name string, flags ...netstate.AddrFlags) netstate.Addr {
	p := netip.MustParsePrefix(prefix)
	a := netstate.Addr{IP: p.Addr(), Bits: p.Bits(), Index: index, Interface: name,
		PreferredLifetime: netstate.Forever, ValidLifetime: netstate.Forever}
	if a.IP.IsLinkLocalUnicast() && a.IP.Is6() {
		a.IP = a.IP.WithZone(name)
	}
	for _, f := range flags {
		a.Flags |= f
	}
	return a
}

// route returns a route to dst via gw ("" for on-link) out of interface index.
func route(dst, gw string, index int) netstate.Route {
	r := netstate.Route{Dst: netip.MustParsePrefix(dst), Index: index}
	if gw != "" {
		r.Gateway = netip.MustParseAddr(gw)
	}
	return r
}

// homeSnapshot is a dual-stack host with one interface, eth0 (index 2): a GUA, a
// ULA, a link-local address and an RFC 1918 address, default routes of both
// families.
func homeSnapshot() *netstate.Snapshot {
	return &netstate.Snapshot{
		Generation: 1,
		Links:      []netstate.Link{{Index: 1, Name: "lo", Up: true, Running: true, Loopback: true}, link(2, "eth0")},
		Addrs: []netstate.Addr{
			addr("2001:db8:1::10/64", 2, "eth0"),
			addr("fd00:1::10/64", 2, "eth0"),
			addr("fe80::10/64", 2, "eth0"),
			addr("192.168.1.10/24", 2, "eth0"),
		},
		Routes: []netstate.Route{
			route("2001:db8:1::/64", "", 2),
			route("fd00:1::/64", "", 2),
			route("fe80::/64", "", 2),
			route("::/0", "fe80::1", 2),
			route("192.168.1.0/24", "", 2),
			route("0.0.0.0/0", "192.168.1.1", 2),
		},
		Gateway4: ip("192.168.1.1"),
		Gateway6: ip("fe80::1%eth0"),
	}
}

// fakeDNS is an in-memory resolver: names to addresses, anything else not found.
type fakeDNS map[string][]netip.Addr

func (f fakeDNS) lookup(_ context.Context, network, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range f[host] {
		if network == "ip" || (network == "ip4" && a.Is4()) || (network == "ip6" && a.Is6()) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

// newTestSelector returns a Selector over a Static watcher of snap, without
// probing, resolving through dns; both are closed when the test ends.
func newTestSelector(t testing.TB, snap *netstate.Snapshot, dns fakeDNS, opts ...Option) (*Selector, *netstate.Static) {
	t.Helper()
	w := netstate.NewStatic(snap)
	opts = append([]Option{WithWatcher(w), WithoutProbing(), withLookup(dns.lookup)}, opts...)
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		w.Close()
	})
	return s, w
}

// fakeKnowledge is a knowledge of fixed maps.
type fakeKnowledge struct {
	pairs  map[[2]netip.Addr]probe.PairStats
	health map[netip.Addr]probe.Health
	tr     probe.Translators
}

func (f *fakeKnowledge) From(src netip.Addr, dsts []netip.Addr, out []probe.PairStats, found []bool) probe.Health {
	for i, dst := range dsts {
		out[i], found[i] = f.pairs[[2]netip.Addr{src, dst}]
	}
	return f.health[src]
}

func (f *fakeKnowledge) Nearby(src, dst netip.Addr) (probe.PairStats, bool) {
	p := probe.NearbyPrefix(dst)
	var best probe.PairStats
	found := false
	for k, st := range f.pairs {
		if k[0] == src && k[1] != dst && p.Contains(k[1].WithZone("")) && st.SRTT > 0 &&
			(!found || st.SRTT < best.SRTT) {
			best, found = st, true
		}
	}
	return best, found
}

// Estimates is From and Nearby made into estimates, as probe.Store.Estimates
// makes them.
func (f *fakeKnowledge) Estimates(src netip.Addr, dsts []netip.Addr, now time.Time, out []probe.Estimate) probe.Health {
	hasRTT := func(st probe.PairStats) bool { return st.Samples > 0 && st.SRTT > 0 }
	stats, found := make([]probe.PairStats, len(dsts)), make([]bool, len(dsts))
	h := f.From(src, dsts, stats, found)
	for i, d := range dsts {
		out[i] = probe.Estimate{}
		if found[i] && stats[i].Intercepted(now) {
			out[i].MiddleboxUntil = stats[i].LastMiddlebox.Add(probe.MiddleboxHold)
		}
		if found[i] && hasRTT(stats[i]) {
			out[i].SRTT, out[i].RTTVar, out[i].Basis = stats[i].SRTT, stats[i].RTTVar, probe.PairEstimate
		} else if st, ok := f.Nearby(src, d); ok && hasRTT(st) {
			out[i].SRTT, out[i].RTTVar, out[i].Basis = st.SRTT, st.RTTVar, probe.NearbyEstimate
		}
	}
	return h
}

func (f *fakeKnowledge) Translators() probe.Translators { return f.tr }

// srtt returns the stats of a pair measured once at d.
func srtt(d time.Duration) probe.PairStats {
	return probe.PairStats{SRTT: d, RTTVar: d / 2, Samples: 1, Successes: 1}
}
