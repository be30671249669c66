package netstate

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// lab is a pair of network namespaces joined by a veth pair (host's v0, index
// 100, and peer's v1, index 101); nothing in it touches the root namespace. The
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
	l.in(l.host, "link", "add", "v0", "index", "100", "type", "veth", "peer", "name", "v1", "netns", l.peer, "index", "101")
	for _, s := range []string{"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"} {
		l.exec(l.peer, "sysctl", "-qw", s)
	}
	l.exec(l.host, "sysctl", "-qw", "net.ipv6.conf.v0.addr_gen_mode=1")
	l.exec(l.peer, "sysctl", "-qw", "net.ipv6.conf.v1.addr_gen_mode=1")
	l.in(l.peer, "link", "set", "v1", "up")
	l.in(l.host, "link", "set", "v0", "up")
	return l
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
