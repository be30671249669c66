package lab

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func within(a netip.Addr, ps []netip.Prefix) bool {
	return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(a) })
}

// TestPlanRoutes checks that the address plan is consistent: what the ISPs
// accept, what the client's policy rules select and what the core routes back.
func TestPlanRoutes(t *testing.T) {
	p := newPlan("unit")
	for i, u := range p.Uplinks {
		for _, fam := range []int{4, 6} {
			for _, a := range p.clientAddrs(i, fam) {
				allowed := u.Prefixes6
				if fam == 4 {
					allowed = u.Prefixes4
				}
				if !within(a.Addr(), allowed) {
					t.Errorf("uplink %d: client %v is outside its ISP's space %v", i, a, allowed)
				}
			}
		}
		if !within(u.GUA.Addr(), u.Routed6) {
			t.Errorf("uplink %d: the core has no route back to %v", i, u.GUA)
		}
		if o := u.ulaOutside(); u.ULA.IsValid() && !within(o, u.Routed6) {
			t.Errorf("uplink %d: the core has no route back to the NPTv6 outside %v", i, o)
		}
		if u.ULA.IsValid() && within(u.ULA.Addr(), u.Routed6) {
			t.Errorf("uplink %d: the core routes the ULA itself", i)
		}
		if u.IPv4.Addr().IsPrivate() {
			if u.IPv4Outside != u.Up4.Addr() {
				t.Errorf("uplink %d: NAT44 outside %v is not the ISP's own address %v", i, u.IPv4Outside, u.Up4)
			}
		} else if !within(u.IPv4.Addr(), u.Routed4) || u.IPv4Outside != u.IPv4.Addr() {
			t.Errorf("uplink %d: public %v not routed back or translated", i, u.IPv4)
		}
		if !u.Router4.Contains(u.IPv4.Addr()) || !u.RouterGUA.Contains(u.GUA.Addr()) {
			t.Errorf("uplink %d: router and client are not on one link", i)
		}
	}
	if a, b := p.Uplinks[0], p.Uplinks[1]; a.Metric >= b.Metric {
		t.Errorf("uplink 0 metric %d is not preferred over %d", a.Metric, b.Metric)
	}
	s := p.Server
	for _, a := range []netip.Addr{s.Open6, s.Refuse6, s.Drop6, s.Open4, s.Refuse4, s.Drop4} {
		if !s.Host6.Contains(a) && !s.Host4.Contains(a) {
			t.Errorf("server address %v is not on the server link", a)
		}
	}
}

func TestULAOutside(t *testing.T) {
	for _, tc := range []struct{ ula, outside, want string }{
		{"fd00:a::100/64", "2001:db8:a:f::/64", "2001:db8:a:f::100"},
		{"fd00:a:0:1:2:3:4:5/48", "2001:db8:ff::/48", "2001:db8:ff:1:2:3:4:5"},
		{"fd12:3456:789a:1::1/60", "2001:db8:a:f0::/60", "2001:db8:a:f1::1"},
	} {
		u := uplinkPlan{ULA: netip.MustParsePrefix(tc.ula), ULAOutside: netip.MustParsePrefix(tc.outside)}
		if got := u.ulaOutside(); got != netip.MustParseAddr(tc.want) {
			t.Errorf("ulaOutside(%s -> %s) = %v; want %s", tc.ula, tc.outside, got, tc.want)
		}
	}
	if got := (&uplinkPlan{}).ulaOutside(); got.IsValid() {
		t.Errorf("no ULA: %v", got)
	}
}

func TestPlanLinks(t *testing.T) {
	p := newPlan("unit")
	seen := map[int]string{}
	for _, l := range p.links() {
		for _, end := range [][2]string{{l.NSA, l.IfA}, {l.NSB, l.IfB}} {
			idx := p.ifindex(end[0], end[1])
			if idx <= 1 {
				t.Errorf("%s/%s: index %d", end[0], end[1], idx)
			}
			if other, dup := seen[idx]; dup {
				t.Errorf("%s/%s and %s share index %d", end[0], end[1], other, idx)
			}
			seen[idx] = end[0] + "/" + end[1]
		}
	}
	if len(seen) != 14 {
		t.Errorf("%d veth ends; want 14", len(seen))
	}
	for _, ns := range p.namespaces() {
		if !strings.HasPrefix(ns, "gapr-unit-") {
			t.Errorf("namespace %q lacks the lab prefix", ns)
		}
	}
	if p.ifindex("client", "nope") != 0 {
		t.Error("ifindex of a missing end is not 0")
	}
	c := p.linkCmd()
	for _, line := range c.lines {
		if strings.Count(line, " netns gapr-unit-") != 2 {
			t.Errorf("link created outside the lab's namespaces: %q", line)
		}
	}
}

func TestDefaultRTTs(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct{ in, want [2]time.Duration }{
		{[2]time.Duration{}, [2]time.Duration{20 * ms, 60 * ms}},
		{[2]time.Duration{5 * ms, 0}, [2]time.Duration{5 * ms, 60 * ms}},
		{[2]time.Duration{-1, 100 * ms}, [2]time.Duration{0, 100 * ms}},
	} {
		if got := defaultRTTs(tc.in); got != tc.want {
			t.Errorf("defaultRTTs(%v) = %v; want %v", tc.in, got, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"demo", true}, {"lab-1234", true}, {"a_b", true}, {"", false}, {"Demo", false}, {"a/b", false},
		{"a b", false}, {strings.Repeat("x", 41), false}} {
		if err := checkName(tc.name); (err == nil) != tc.ok {
			t.Errorf("checkName(%q) = %v; want ok %v", tc.name, err, tc.ok)
		}
	}
	for in, want := range map[string]string{"lab": "lab", "My.Pkg": "my-pkg", strings.Repeat("a", 50): strings.Repeat("a", 30)} {
		if got := sanitizeName(in); got != want || checkName(got) != nil {
			t.Errorf("sanitizeName(%q) = %q; want %q", in, got, want)
		}
	}
}
