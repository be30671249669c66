package probe_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// host describes a test host: addresses as "ifname addr/bits", default gateways.
type host struct {
	addrs    []string
	gw4, gw6 string
	down     []string // names of links that are not running
	routes   bool     // add a default route per family through every link
	via      bool     // the first link's default routes go through gw4 and gw6
}

// snap builds the host's snapshot. Links are numbered in order of first mention.
func (h host) snap() *netstate.Snapshot {
	s := &netstate.Snapshot{Taken: time.Now()}
	index := map[string]int{}
	for _, spec := range h.addrs {
		name, cidr, _ := strings.Cut(spec, " ")
		if index[name] == 0 {
			index[name] = len(index) + 1
			running := true
			for _, d := range h.down {
				running = running && d != name
			}
			s.Links = append(s.Links, netstate.Link{Index: index[name], Name: name, Up: true, Running: running, MTU: 1500})
			if h.routes {
				s.Routes = append(s.Routes,
					netstate.Route{Dst: netip.MustParsePrefix("0.0.0.0/0"), Index: index[name]},
					netstate.Route{Dst: netip.MustParsePrefix("::/0"), Index: index[name]})
			}
		}
		p := netip.MustParsePrefix(cidr)
		ip := p.Addr()
		if ip.Is6() && ip.IsLinkLocalUnicast() {
			ip = ip.WithZone(name)
		}
		s.Addrs = append(s.Addrs, netstate.Addr{
			IP: ip, Bits: p.Bits(), Index: index[name], Interface: name,
			PreferredLifetime: netstate.Forever, ValidLifetime: netstate.Forever,
		})
	}
	if h.gw4 != "" {
		s.Gateway4 = netip.MustParseAddr(h.gw4)
	}
	if h.gw6 != "" {
		s.Gateway6 = netip.MustParseAddr(h.gw6)
	}
	for i, r := range s.Routes {
		if h.via && r.Index == 1 {
			s.Routes[i].Gateway = s.Gateway4
			if r.Dst.Addr().Is6() {
				s.Routes[i].Gateway = s.Gateway6
			}
		}
	}
	return s
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

func addrPort(s string, port uint16) netip.AddrPort { return netip.AddrPortFrom(addr(s), port) }

// outcome is an attempt from src to dst (port 80) that ended with r after d,
// started at start.
func outcome(src, dst string, r probe.Result, d time.Duration, start time.Time) probe.Outcome {
	return probe.Outcome{
		Path:     probe.Path{Src: addrPort(src, 0), Dst: addrPort(dst, 80)},
		Result:   r,
		Start:    start,
		Duration: d,
	}
}

// wantHealth fails t unless src has health h in s.
func wantHealth(t *testing.T, s *probe.Store, src string, h probe.Health) {
	t.Helper()
	if got := s.Health(addr(src)); got != h {
		t.Fatalf("Health(%s) = %v, want %v", src, got, h)
	}
}
