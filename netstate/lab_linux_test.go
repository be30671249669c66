package netstate

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// lab is a pair of network namespaces joined by a veth pair (host's v0, index
// 100, and peer's v0p, index 1100); nothing in it touches the root namespace. The
// namespaces are named gapr-nst-<pid>-<n> and deleted when the test ends.
type lab struct {
	tb         testing.TB
	host, peer string
	fd         int // of the host namespace, for WithNetNS
}

// newLab builds a lab, or skips the test when not root or `ip` is missing.
func newLab(tb testing.TB) *lab {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		tb.Skip("needs the ip command")
	}
	n := rand.Uint32()
	l := &lab{tb: tb,
		host: fmt.Sprintf("gapr-nst-%d-%d", os.Getpid(), n),
		peer: fmt.Sprintf("gapr-nst-%d-%dp", os.Getpid(), n),
	}
	for _, ns := range []string{l.host, l.peer} {
		l.ip("netns", "add", ns)
		tb.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	}
	f, err := os.Open("/var/run/netns/" + l.host)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	l.fd = int(f.Fd())
	l.in(l.host, "link", "set", "lo", "up")
	l.in(l.peer, "link", "set", "lo", "up")
	for _, s := range []string{"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.default.addr_gen_mode=1"} {
		l.exec(l.peer, "sysctl", "-qw", s)
	}
	l.exec(l.host, "sysctl", "-qw", "net.ipv6.conf.default.addr_gen_mode=1")
	l.veth("v0", 100)
	return l
}

// veth adds host interface name with ifindex index, joined to the peer's
// name+"p" with index+1000, both up.
func (l *lab) veth(name string, index int) {
	l.tb.Helper()
	l.in(l.host, "link", "add", name, "index", fmt.Sprint(index), "type", "veth",
		"peer", "name", name+"p", "netns", l.peer, "index", fmt.Sprint(index+1000))
	l.in(l.peer, "link", "set", name+"p", "up")
	l.in(l.host, "link", "set", name, "up")
}

// ip runs the ip command and fails the test if it fails.
func (l *lab) ip(args ...string) string {
	l.tb.Helper()
	out, err := l.try("ip", args...)
	if err != nil {
		l.tb.Fatalf("ip %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// in runs ip -n ns args.
func (l *lab) in(ns string, args ...string) string {
	l.tb.Helper()
	return l.ip(append([]string{"-n", ns}, args...)...)
}

// exec runs a command inside namespace ns.
func (l *lab) exec(ns, cmd string, args ...string) string {
	l.tb.Helper()
	out, err := l.try("ip", append([]string{"netns", "exec", ns, cmd}, args...)...)
	if err != nil {
		l.tb.Fatalf("%s %s in %s: %v", cmd, strings.Join(args, " "), ns, err)
	}
	return out
}

// try runs a command and returns its output, and its stderr in the error.
func (l *lab) try(cmd string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	c := exec.Command(cmd, args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// multihomed turns the lab into the host of testdata/netstate/multihomed.nl: two
// uplinks with source-based policy routing, reject routes, a multipath route,
// and addresses in every kernel state (see the comments).
func (l *lab) multihomed() {
	l.tb.Helper()
	h, p := l.host, l.peer
	sys := func(ns string, kv ...string) {
		for _, s := range kv {
			l.exec(ns, "sysctl", "-qw", s)
		}
	}
	// ISP A on v0: IPv4, IPv6 GUA, a deprecated address, a fixed link-local, and
	// a temporary (privacy) address made by the kernel from a mngtmpaddr one.
	sys(h, "net.ipv6.conf.v0.accept_dad=0", "net.ipv6.conf.v0.use_tempaddr=2")
	l.in(p, "addr", "add", "192.0.2.1/24", "dev", "v0p")
	l.in(p, "addr", "add", "2001:db8:a::1/64", "dev", "v0p")
	l.in(p, "addr", "add", "fe80::1/64", "dev", "v0p")
	l.in(h, "addr", "add", "192.0.2.10/24", "dev", "v0")
	l.in(h, "addr", "add", "2001:db8:a::10/64", "dev", "v0", "nodad")
	l.in(h, "addr", "add", "2001:db8:a::20/64", "dev", "v0", "nodad", "preferred_lft", "0")
	l.in(h, "addr", "add", "fe80::10/64", "dev", "v0", "nodad")
	l.in(h, "addr", "add", "2001:db8:a::30/64", "dev", "v0", "mngtmpaddr", "valid_lft", "7200", "preferred_lft", "3600")
	// ISP B on v1, with duplicate address detection on: ::99 is taken by the
	// peer (DAD fails), ::77 stays tentative (100 probes a second apart).
	l.veth("v1", 101)
	sys(h, "net.ipv6.conf.v1.accept_dad=1", "net.ipv6.conf.v1.dad_transmits=100")
	l.in(p, "addr", "add", "198.51.100.1/24", "dev", "v1p")
	l.in(p, "addr", "add", "2001:db8:b::1/64", "dev", "v1p")
	l.in(p, "addr", "add", "2001:db8:b::99/64", "dev", "v1p")
	l.in(p, "addr", "add", "fe80::2/64", "dev", "v1p")
	l.in(h, "addr", "add", "198.51.100.10/24", "dev", "v1")
	l.in(h, "addr", "add", "2001:db8:b::10/64", "dev", "v1", "nodad")
	l.in(h, "addr", "add", "fe80::11/64", "dev", "v1", "nodad")
	l.in(h, "addr", "add", "2001:db8:b::99/64", "dev", "v1")
	l.in(h, "addr", "add", "2001:db8:b::77/64", "dev", "v1")
	// v2 is administratively down.
	l.veth("v2", 102)
	l.in(h, "addr", "add", "10.9.9.9/24", "dev", "v2")
	l.in(h, "link", "set", "v2", "down")
	// Main table.
	l.in(h, "route", "add", "default", "via", "192.0.2.1", "metric", "100")
	l.in(h, "route", "add", "default", "via", "198.51.100.1", "metric", "200")
	l.in(h, "-6", "route", "add", "default", "via", "fe80::1", "dev", "v0", "metric", "1024")
	l.in(h, "route", "add", "unreachable", "203.0.113.0/25")
	l.in(h, "route", "add", "prohibit", "203.0.113.128/26")
	l.in(h, "route", "add", "blackhole", "203.0.113.192/26")
	l.in(h, "-6", "route", "add", "unreachable", "2001:db8:dead::/48")
	l.in(h, "-6", "route", "add", "prohibit", "2001:db8:beef::/48")
	l.in(h, "-6", "route", "add", "blackhole", "2001:db8:bbbb::/48")
	l.in(h, "route", "add", "198.18.0.0/15", "nexthop", "via", "192.0.2.1", "nexthop", "via", "198.51.100.1")
	// ISP B's table, selected by source; its unreachable default keeps a lookup
	// from falling through to main.
	l.in(h, "route", "add", "default", "via", "198.51.100.1", "dev", "v1", "table", "101")
	l.in(h, "route", "add", "unreachable", "default", "metric", "4278198272", "table", "101")
	l.in(h, "-6", "route", "add", "default", "via", "fe80::2", "dev", "v1", "table", "101")
	l.in(h, "-6", "route", "add", "unreachable", "default", "metric", "4278198272", "table", "101")
	l.in(h, "rule", "add", "pref", "100", "lookup", "main", "suppress_prefixlength", "0")
	l.in(h, "rule", "add", "pref", "200", "from", "198.51.100.0/24", "lookup", "101")
	l.in(h, "rule", "add", "pref", "310", "to", "10.66.0.0/16", "prohibit")
	l.in(h, "-6", "rule", "add", "pref", "100", "lookup", "main", "suppress_prefixlength", "0")
	l.in(h, "-6", "rule", "add", "pref", "200", "from", "2001:db8:b::/64", "lookup", "101")
	// Left out of a Snapshot: a table no rule selects, and a table only a
	// firewall-mark rule selects.
	l.in(h, "route", "add", "192.0.2.128/25", "via", "192.0.2.1", "table", "300")
	l.in(h, "route", "add", "default", "via", "192.0.2.1", "table", "400")
	l.in(h, "rule", "add", "pref", "300", "fwmark", "0x1", "lookup", "400")
	l.waitAddrs("dadfailed", "temporary dynamic")
}

// waitAddrs waits until `ip addr` in the host shows every one of want.
func (l *lab) waitAddrs(want ...string) {
	l.tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := l.in(l.host, "addr")
		missing := ""
		for _, w := range want {
			if !strings.Contains(out, w) {
				missing = w
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			l.tb.Fatalf("ip addr never showed %q:\n%s", missing, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
