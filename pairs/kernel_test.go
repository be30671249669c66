package pairs

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// twoUplinks is a host with two uplinks and source routing: eth0 has a GUA, a ULA
// and an RFC 1918 address, eth1 a GUA and a global IPv4 address.
func twoUplinks() *netstate.Snapshot {
	return &netstate.Snapshot{
		Generation: 1,
		Links:      []netstate.Link{link(2, "eth0"), link(3, "eth1")},
		Addrs: []netstate.Addr{
			addr("2001:db8:a::10/64", 2, "eth0"),
			addr("fd00:1::10/64", 2, "eth0"),
			addr("192.168.1.10/24", 2, "eth0"),
			addr("2001:db8:b::10/64", 3, "eth1"),
			addr("203.0.113.10/24", 3, "eth1"),
		},
	}
}

// kernelRoutes answers RouteFor on twoUplinks: a pair leaves by its source's
// interface; without a source, the kernel picks choice[dst], and fails when there
// is none.
func kernelRoutes(snap *netstate.Snapshot, choice map[netip.Addr]netip.Addr) func(src, dst netip.Addr) (netstate.Decision, error) {
	return func(src, dst netip.Addr) (netstate.Decision, error) {
		if !src.IsValid() {
			src = choice[dst]
			if !src.IsValid() {
				return netstate.Decision{}, &netstate.RouteError{Dst: dst, Kind: netstate.NoRoute}
			}
		}
		a, ok := snap.Addr(src)
		if !ok {
			return netstate.Decision{}, &netstate.RouteError{Src: src, Dst: dst, Kind: netstate.BadSource}
		}
		return netstate.Decision{Index: a.Index, Interface: a.Interface, Src: src}, nil
	}
}

// TestKernelChoice checks that, among a destination's pairs whose latency is a
// default, the source the kernel would choose itself ranks first with the best
// default, and that measured, inherited and dead sources keep their place.
func TestKernelChoice(t *testing.T) {
	const v6, v4 = "2001:db8:99::7", "198.51.100.7"
	tests := []struct {
		name   string
		host   string
		kernel string                   // the kernel's own source for host; "" for none
		local  string                   // Query.Local
		rtt    map[string]time.Duration // measured from a source to host
		near   map[string]time.Duration // measured from a source to host's neighbour
		dead   string
		// kernelLatency is the Latency of the kernel's choice when it is a default.
		kernelLatency time.Duration
		want          []string // source and Reason, best first
	}{
		{
			name: "ula behind nptv6 ties with the gua default and wins", host: v6, kernel: "fd00:1::10",
			kernelLatency: 200 * time.Millisecond,
			want: []string{
				"fd00:1::10 default ula via nptv6 201ms; kernel's choice 200ms",
				"2001:db8:a::10 default ipv6 gua 200ms; after the kernel's choice",
				"2001:db8:b::10 default ipv6 gua 200ms",
			},
		},
		{
			name: "rfc 1918 behind untried nat44 first", host: v4, kernel: "192.168.1.10",
			kernelLatency: 205 * time.Millisecond,
			want: []string{
				"192.168.1.10 default ipv4 205ms; kernel's choice",
				"203.0.113.10 default ipv4 205ms; after the kernel's choice",
			},
		},
		{
			name: "the other uplink's gua", host: v6, kernel: "2001:db8:b::10",
			kernelLatency: 200 * time.Millisecond,
			want: []string{
				"2001:db8:b::10 default ipv6 gua 200ms; kernel's choice",
				"2001:db8:a::10 default ipv6 gua 200ms; after the kernel's choice",
				"fd00:1::10 default ula via nptv6 201ms",
			},
		},
		{
			name: "no choice: rfc 6724 order", host: v6,
			want: []string{
				"2001:db8:a::10 default ipv6 gua 200ms",
				"2001:db8:b::10 default ipv6 gua 200ms",
				"fd00:1::10 default ula via nptv6 201ms",
			},
		},
		{
			name: "a measured choice keeps its latency", host: v6, kernel: "2001:db8:a::10",
			rtt: map[string]time.Duration{"2001:db8:a::10": 300 * time.Millisecond},
			want: []string{
				"2001:db8:b::10 default ipv6 gua 200ms",
				"fd00:1::10 default ula via nptv6 201ms",
				"2001:db8:a::10 measured 300ms",
			},
		},
		{
			name: "an inherited latency stays ahead", host: v6, kernel: "fd00:1::10",
			kernelLatency: 200 * time.Millisecond,
			near:          map[string]time.Duration{"2001:db8:b::10": 50 * time.Millisecond},
			want: []string{
				"2001:db8:b::10 inherited 2001:db8::/32 50ms",
				"fd00:1::10 default ula via nptv6 201ms; kernel's choice 200ms",
				"2001:db8:a::10 default ipv6 gua 200ms; after the kernel's choice",
			},
		},
		{
			name: "a dead choice stays last", host: v4, kernel: "192.168.1.10", dead: "192.168.1.10",
			kernelLatency: 205 * time.Millisecond,
			want: []string{
				"203.0.113.10 default ipv4 205ms",
				"192.168.1.10 source dead; default ipv4 205ms; kernel's choice",
			},
		},
		{
			name: "the choice is not a candidate", host: v6, kernel: "2001:db8:a::10", local: "[2001:db8:b::10]:0",
			kernelLatency: 200 * time.Millisecond,
			want:          []string{"2001:db8:b::10 default ipv6 gua 200ms"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := twoUplinks()
			s, w := newTestSelector(t, snap, nil)
			choice := map[netip.Addr]netip.Addr{}
			if tt.kernel != "" {
				choice[ip(tt.host)] = ip(tt.kernel)
			}
			w.SetRouteFunc(kernelRoutes(snap, choice))
			k := &fakeKnowledge{pairs: map[[2]netip.Addr]probe.PairStats{}, health: map[netip.Addr]probe.Health{}}
			for src, d := range tt.rtt {
				k.pairs[[2]netip.Addr{ip(src), ip(tt.host)}] = srtt(d)
			}
			for src, d := range tt.near {
				k.pairs[[2]netip.Addr{ip(src), ip(tt.host).Next()}] = srtt(d)
			}
			if tt.dead != "" {
				k.health[ip(tt.dead)] = probe.Dead
			}
			q := Query{Network: "tcp", Host: tt.host, Port: 443}
			if tt.local != "" {
				q.Local = netip.MustParseAddrPort(tt.local)
			}
			ps, err := s.rankedWith(context.Background(), q, k)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Src.Addr().String()+" "+p.Reason)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			for _, p := range ps {
				if tt.kernel != "" && p.Src.Addr() == ip(tt.kernel) && p.Basis == Assumed && p.Latency != tt.kernelLatency {
					t.Errorf("kernel's choice %v: Latency %v, want %v", p.Src, p.Latency, tt.kernelLatency)
				}
			}
		})
	}
}
