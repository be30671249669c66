//go:build linux && !lab

package pairs

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/isolate"
	"github.com/getapr/getapr/netstate"
)

// twoUplinkHost is a namespace with two uplinks (veth u1/p1, u2/p2, the far
// ends without addresses), a default route on each (u1 preferred), and source
// routing for u2's addresses through table 102.
var twoUplinkHost = [][]string{
	{"ip", "link", "add", "u1", "type", "veth", "peer", "name", "p1"},
	{"ip", "link", "add", "u2", "type", "veth", "peer", "name", "p2"},
	{"sysctl", "-qw", "net.ipv6.conf.p1.disable_ipv6=1"},
	{"sysctl", "-qw", "net.ipv6.conf.p2.disable_ipv6=1"},
	{"sysctl", "-qw", "net.ipv6.conf.u1.disable_ipv6=1"},
	{"sysctl", "-qw", "net.ipv6.conf.u2.disable_ipv6=1"},
	{"ip", "link", "set", "p1", "up"}, {"ip", "link", "set", "p2", "up"},
	{"ip", "link", "set", "u1", "up"}, {"ip", "link", "set", "u2", "up"},
	{"ip", "addr", "add", "10.1.0.2/24", "dev", "u1"},
	{"ip", "addr", "add", "10.2.0.2/24", "dev", "u2"},
	{"ip", "route", "add", "default", "via", "10.1.0.1", "metric", "100"},
	{"ip", "route", "add", "default", "via", "10.2.0.1", "metric", "200"},
	{"ip", "rule", "add", "from", "10.2.0.2", "lookup", "102", "pref", "1000"},
	{"ip", "route", "add", "default", "via", "10.2.0.1", "table", "102"},
}

// inHost runs the test named run in a fresh network namespace set up by cmds;
// it reports whether the caller is that child (and should go on).
func inHost(t *testing.T, cmds [][]string) bool {
	t.Helper()
	if isolate.InChild() {
		return true
	}
	isolate.Run(t, "^"+t.Name()+"$", isolate.Options{NewNetNS: true, Commands: cmds})
	return false
}

func sh(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v: %s", args, err, out)
	}
}

// kernelSelector returns a Selector over a real Monitor of this namespace.
func kernelSelector(t *testing.T) (*Selector, *netstate.Monitor) {
	t.Helper()
	m, err := netstate.New(netstate.WithDebounce(5 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(WithWatcher(m), WithoutProbing())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return s, m
}

// change runs the commands and waits for the Monitor to publish a snapshot
// for which done holds.
func change(t *testing.T, m *netstate.Monitor, done func(*netstate.Snapshot) bool, cmds ...[]string) {
	t.Helper()
	g := m.Snapshot().Generation
	for _, c := range cmds {
		sh(t, c...)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		s := m.Snapshot()
		if s.Generation != g && (done == nil || done(s)) {
			time.Sleep(50 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot after %v (generation %d)", cmds, s.Generation)
		}
	}
}

func describe(ps []Pair) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%v->%v(%s,%v,mm=%v) ", p.Src.Addr(), p.Dst.Addr(), p.Interface, p.Health, p.EgressMismatch)
	}
	return b.String()
}

func attempts(t *testing.T, s *Selector, host string) []Pair {
	t.Helper()
	ps, err := s.Attempts(context.Background(), Query{Network: "tcp", Host: host, Port: 80})
	if err != nil {
		t.Logf("attempts %s: %v", host, err)
	}
	return ps
}

// TestKernelUIDRuleChange: a policy rule that selects the process's own
// traffic by user ("ip rule add uidrange 0-0 lookup 104", as per-user VPN and
// systemd-networkd setups install) applies to the kernel's route decisions
// (RTM_GETROUTE takes the asking process's uid). The Snapshot cannot evaluate
// it but shows it (netstate.RuleOther): adding it is a change of the host, and
// the route verdicts cached before it, which a later unrelated route change
// would otherwise carry over, are asked again. Before, a long-running program
// kept dialing pairs the kernel now refuses, first, for as long as it lived.
func TestKernelUIDRuleChange(t *testing.T) {
	if !inHost(t, twoUplinkHost) {
		return
	}
	s, m := kernelSelector(t)
	const dst = "198.51.100.10"
	if ps := attempts(t, s, dst); len(ps) != 2 || ps[0].Fallback {
		t.Fatalf("before: %s, want the pairs of both uplinks", describe(ps))
	}
	sh(t, "ip", "route", "add", "unreachable", "198.51.100.0/24", "table", "104")
	sh(t, "ip", "rule", "add", "uidrange", "0-0", "lookup", "104", "pref", "800")
	// And an unrelated route change (a new view either way).
	change(t, m, nil, []string{"ip", "route", "add", "203.0.113.0/24", "via", "10.2.0.1"})
	for _, p := range attempts(t, s, dst) {
		if !p.Fallback {
			t.Errorf("after the rule: pair %v -> %v (%s) offered; the kernel refuses it (ip route get %s from %v: unreachable)",
				p.Src.Addr(), p.Dst.Addr(), p.Interface, dst, p.Src.Addr())
		}
	}
}
