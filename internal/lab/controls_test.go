package lab

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// has reports whether some line contains every one of the parts.
func has(lines []string, parts ...string) bool {
	return slices.ContainsFunc(lines, func(l string) bool {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				return false
			}
		}
		return true
	})
}

func TestFamilyStages(t *testing.T) {
	p := newPlan("unit")
	s := defaultState([2]time.Duration{})
	s.Extra[1] = []netip.Prefix{netip.MustParsePrefix("203.0.113.77/25"), netip.MustParsePrefix("2001:db8:b:1::77/64")}
	st := p.familyStages(&s, false, true)
	if len(st) != 2 || len(st[0]) != 1 || len(st[1]) != 1 || !st[0][0].force || st[1][0].force {
		t.Fatalf("stages %+v; want a forced delete batch, then an add batch", st)
	}
	del, add := st[0][0].lines, st[1][0].lines
	for _, a := range []string{"10.1.0.100/24 dev eth0", "203.0.113.100/25 dev eth1", "203.0.113.77/25 dev eth1"} {
		if !has(del, "addr del "+a) {
			t.Errorf("IPv4 address %s not removed", a)
		}
	}
	for _, r := range []string{"via 10.1.0.1 dev eth0 metric", "via 10.1.0.1 dev eth0 table 101", "via 203.0.113.1 dev eth1 metric", "via 203.0.113.1 dev eth1 table 102"} {
		if !has(del, "route del default "+r) {
			t.Errorf("IPv4 default route %s not removed", r)
		}
	}
	if has(del, "2001:db8") || has(del, "fe80::") || has(add, "10.1.0.100") {
		t.Errorf("IPv6-only touches the wrong family:\ndel %q\nadd %q", del, add)
	}
	for _, a := range []string{"2001:db8:a:1::100/64 dev eth0", "fd00:a::100/64 dev eth0", "2001:db8:b:1::100/64 dev eth1"} {
		if !has(add, "addr replace "+a, "nodad") {
			t.Errorf("IPv6 address %s not put back", a)
		}
	}
	if !has(add, "route replace default via fe80::a dev eth0 metric 100") || !has(add, "route replace default via fe80::b dev eth1 table 102") {
		t.Errorf("IPv6 default routes not put back: %q", add)
	}
}

func TestPolicyStages(t *testing.T) {
	p := newPlan("unit")
	off := p.policyStages(false)
	on := p.policyStages(true)
	if len(off) != 1 || len(on) != 2 {
		t.Fatalf("off: %d stages, on: %d; want 1 and 2", len(off), len(on))
	}
	for _, c := range off[0] {
		if !c.force || c.family == 0 || has(c.lines, "add") {
			t.Errorf("off: %+v", c)
		}
	}
	v6 := on[1][1]
	if v6.family != 6 || !has(v6.lines, "rule add lookup main suppress_prefixlength 0 pref 1000") ||
		!has(v6.lines, "from 2001:db8:a::/48 lookup 101") || !has(v6.lines, "from fd00:a::/64 lookup 101") ||
		!has(v6.lines, "from 2001:db8:b::/48 lookup 102") {
		t.Errorf("IPv6 rules: %q", v6.lines)
	}
	if v4 := on[1][0]; v4.family != 4 || !has(v4.lines, "from 10.1.0.0/24 lookup 101") || !has(v4.lines, "from 203.0.113.0/25 lookup 102") {
		t.Errorf("IPv4 rules: %q", v4.lines)
	}
}

func TestCmdArgs(t *testing.T) {
	for _, tc := range []struct {
		c    cmd
		want string
	}{
		{cmd{}, "ip -batch -"},
		{cmd{ns: "gapr-x-client", family: 6, force: true}, "ip -n gapr-x-client -6 -force -batch -"},
		{cmd{ns: "gapr-x-ispa", family: 4}, "ip -n gapr-x-ispa -4 -batch -"},
	} {
		if got := strings.Join(tc.c.args(), " "); got != tc.want {
			t.Errorf("args = %q; want %q", got, tc.want)
		}
	}
}

func TestCheckUplink(t *testing.T) {
	for i, ok := range map[int]bool{0: true, 1: true, -1: false, 2: false} {
		if err := checkUplink(i); (err == nil) != ok {
			t.Errorf("checkUplink(%d) = %v", i, err)
		}
	}
}
