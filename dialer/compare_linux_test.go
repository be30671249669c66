package dialer_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/getapr/getapr/internal/isolate"
	"github.com/getapr/getapr/pairs"
)

// TestCompareLoopback runs the comparison in a network namespace of its own
// with only loopback.
func TestCompareLoopback(t *testing.T) {
	isolate.Run(t, "^TestCompareChild$", isolate.Options{NewNetNS: true})
}

// TestCompareNoNetlink runs it there with rtnetlink refused, as a seccomp
// filter or systemd's RestrictAddressFamilies refuses it.
func TestCompareNoNetlink(t *testing.T) {
	isolate.Run(t, "^TestCompareChild$", isolate.Options{NewNetNS: true, NoNetlink: true})
}

// TestCompareChild is the comparison itself, in the child of the two above.
func TestCompareChild(t *testing.T) {
	o := isolate.Current()
	if !o.NewNetNS {
		t.Skip("only in the child of TestCompareLoopback or TestCompareNoNetlink")
	}
	env := newLoopbackEnv(t)
	sel, err := pairs.New()
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	sels := map[string]*pairs.Selector{"zero value": nil, "explicit": sel}
	where := "loopback-only namespace"
	if o.NoNetlink {
		where += ", rtnetlink refused"
	}
	report(t, where, compare(env.inputs(), env.dns.Resolver(), sels))
}

// loopbackEnv is what the loopback inputs dial: listeners, a port where
// nothing listens, one where connects hang, a DNS server.
type loopbackEnv struct {
	open4, open6, dual, closed, hang, udp4, udp6 string // ports
	unixPath                                     string
	dns                                          *fakeDNS
}

func newLoopbackEnv(t *testing.T) *loopbackEnv {
	t.Helper()
	e := &loopbackEnv{}
	e.open4 = port(listen(t, "tcp4", "127.0.0.1:0"))
	e.open6 = port(listen(t, "tcp6", "[::1]:0"))
	e.dual = port(listen(t, "tcp", ":0"))
	listen(t, "tcp4", "127.0.0.1:80") // the "http" service
	free := listen(t, "tcp", ":0")
	e.closed = port(free)
	free.Close()
	e.hang = hangPort(t)
	for _, u := range []struct {
		dst     *string
		network string
		addr    string
	}{{&e.udp4, "udp4", "127.0.0.1:0"}, {&e.udp6, "udp6", "[::1]:0"}} {
		pc, err := net.ListenPacket(u.network, u.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		_, *u.dst, _ = net.SplitHostPort(pc.LocalAddr().String())
	}
	e.unixPath = filepath.Join(t.TempDir(), "s")
	listen(t, "unix", e.unixPath)
	dns, err := newFakeDNS(map[string][]netip.Addr{
		"both.test":    {netip.IPv6Loopback(), netip.MustParseAddr("127.0.0.1")},
		"v4.test":      {netip.MustParseAddr("127.0.0.1")},
		"v6.test":      {netip.IPv6Loopback()},
		"multi4.test":  {netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.1")},
		"unreach.test": {netip.MustParseAddr("192.0.2.1")},
		"mixed.test":   {netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("127.0.0.1")},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dns.Close)
	e.dns = dns
	return e
}

// hangPort returns the port of a dual-stack listener whose accept queue is
// full (backlog 0, one connection never accepted): the kernel drops further
// SYNs, so connects to it hang until their deadline, on loopback.
func hangPort(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet6{}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	p := strconv.Itoa(sa.(*unix.SockaddrInet6).Port)
	filler, err := net.DialTimeout("tcp", "127.0.0.1:"+p, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, 100*time.Millisecond)
	if err == nil {
		c.Close()
		t.Fatal("a connect to the full listener did not hang")
	}
	return p
}

// inputs returns the loopback inputs.
func (e *loopbackEnv) inputs() []dialInput {
	const hang = 400 * time.Millisecond // longer than net.Dialer's fallback delay
	ip4 := func(s string) net.IP { return net.ParseIP(s) }
	free := func() int { // a port nothing uses, for LocalAddr
		ln, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port
	}
	// A dial may end before the second family's answer is in (see
	// diffResolutionDelay).
	hev3 := []difference{diffResolutionDelay}
	return []dialInput{
		// TCP that connects.
		{name: "IPv4 literal", network: "tcp", address: "127.0.0.1:" + e.open4},
		{name: "IPv4 literal, tcp4", network: "tcp4", address: "127.0.0.1:" + e.open4},
		{name: "IPv6 literal, tcp6", network: "tcp6", address: "[::1]:" + e.open6},
		{name: "IPv6 literal", network: "tcp", address: "[::1]:" + e.open6},
		{name: "IPv6 loopback with a zone", network: "tcp", address: "[::1%lo]:" + e.open6},
		{name: "localhost (/etc/hosts)", network: "tcp", address: "localhost:" + e.open4},
		{name: "name, A and AAAA", network: "tcp", address: "both.test:" + e.dual, allow: hev3},
		{name: "name, A and AAAA, tcp4", network: "tcp4", address: "both.test:" + e.dual},
		{name: "name, A and AAAA, tcp6", network: "tcp6", address: "both.test:" + e.dual},
		{name: "name, A only", network: "tcp", address: "v4.test:" + e.dual},
		{name: "name, AAAA only", network: "tcp", address: "v6.test:" + e.dual},
		{name: "name, two A", network: "tcp", address: "multi4.test:" + e.dual},
		{name: "name, unroutable AAAA and loopback A", network: "tcp", address: "mixed.test:" + e.dual},
		{name: "empty host (local system)", network: "tcp", address: ":" + e.dual},
		{name: "0.0.0.0 (local system)", network: "tcp", address: "0.0.0.0:" + e.dual},
		{name: ":: (local system)", network: "tcp", address: "[::]:" + e.dual},
		{name: "0.0.0.0, tcp4", network: "tcp4", address: "0.0.0.0:" + e.open4},
		{name: ":: , tcp6", network: "tcp6", address: "[::]:" + e.open6},
		{name: "loopback alias 127.0.0.2", network: "tcp", address: "127.0.0.2:" + e.dual},
		{name: "IPv4-mapped literal", network: "tcp", address: "[::ffff:127.0.0.1]:" + e.open4},
		{name: "service name", network: "tcp", address: "127.0.0.1:http"},
		{name: "LocalAddr 127.0.0.2", network: "tcp", address: "127.0.0.1:" + e.open4, local: &net.TCPAddr{IP: ip4("127.0.0.2")}},
		{name: "LocalAddr 127.0.0.1", network: "tcp", address: "127.0.0.1:" + e.open4, local: &net.TCPAddr{IP: ip4("127.0.0.1")}},
		{name: "LocalAddr 0.0.0.0 to IPv6", network: "tcp", address: "[::1]:" + e.open6, local: &net.TCPAddr{IP: net.IPv4zero}},
		{name: "LocalAddr port only", network: "tcp", address: "127.0.0.1:" + e.open4, local: &net.TCPAddr{Port: free()}},
		{name: "LocalAddr port only, IPv6", network: "tcp", address: "[::1]:" + e.open6, local: &net.TCPAddr{Port: free()}},
		{name: "LocalAddr IPv4, name with both", network: "tcp", address: "both.test:" + e.dual, local: &net.TCPAddr{IP: ip4("127.0.0.1")}, allow: hev3},
		{name: "LocalAddr ::1, name with both", network: "tcp", address: "both.test:" + e.dual, local: &net.TCPAddr{IP: net.IPv6loopback}, allow: hev3},
		{name: "timeout not reached", network: "tcp", address: "both.test:" + e.dual, timeout: 5 * time.Second, allow: hev3},

		// TCP that fails.
		{name: "refused, IPv4", network: "tcp", address: "127.0.0.1:" + e.closed},
		{name: "refused, IPv6", network: "tcp", address: "[::1]:" + e.closed},
		{name: "refused, IPv6 loopback with a zone", network: "tcp", address: "[::1%lo]:" + e.closed},
		{name: "refused, name with both", network: "tcp", address: "both.test:" + e.closed, allow: []difference{diffSeveral, diffResolutionDelay}},
		{name: "refused, name A only", network: "tcp", address: "v4.test:" + e.closed},
		{name: "refused, tcp4 to a name with both", network: "tcp4", address: "both.test:" + e.closed},
		{name: "tcp6 to an A-only name", network: "tcp6", address: "v4.test:" + e.dual},
		{name: "tcp4 to an IPv6 literal", network: "tcp4", address: "[::1]:" + e.open6},
		{name: "unknown name", network: "tcp", address: "nx.test:80"},
		{name: "not a host name", network: "tcp", address: "bad host!:80"},
		{name: "name to an unroutable address", network: "tcp", address: "unreach.test:80", allow: []difference{diffNoNAT64}},
		{name: "no route, IPv4", network: "tcp", address: "192.0.2.1:80", allow: []difference{diffNoNAT64}},
		{name: "no route, IPv6", network: "tcp", address: "[2001:db8::1]:80"},
		{name: "TCP to multicast", network: "tcp", address: "239.1.1.1:80"},
		{name: "TCP to broadcast", network: "tcp", address: "255.255.255.255:80"},
		{name: "link-local without zone", network: "tcp", address: "[fe80::1]:80"},
		{name: "link-local on lo", network: "tcp", address: "[fe80::1%lo]:80"},
		{name: "LocalAddr not local", network: "tcp", address: "127.0.0.1:" + e.open4, local: &net.TCPAddr{IP: ip4("192.0.2.1")}},
		{name: "LocalAddr of the other family", network: "tcp", address: "[::1]:" + e.open6, local: &net.TCPAddr{IP: ip4("127.0.0.1")}},
		{name: "LocalAddr IPv4, AAAA-only name", network: "tcp", address: "v6.test:" + e.dual, local: &net.TCPAddr{IP: ip4("127.0.0.1")}},
		{name: "LocalAddr UDP for TCP", network: "tcp", address: "127.0.0.1:" + e.open4, local: &net.UDPAddr{IP: ip4("127.0.0.1")}},
		{name: "timeout, IPv4", network: "tcp", address: "127.0.0.1:" + e.hang, timeout: hang},
		{name: "timeout, IPv6", network: "tcp", address: "[::1]:" + e.hang, timeout: hang},
		// A second, so that net.Dialer's fallback (300 ms after the lookup)
		// starts before the deadline even on a loaded machine.
		{name: "timeout, name with both", network: "tcp", address: "both.test:" + e.hang, timeout: time.Second, allow: []difference{diffSeveral, diffResolutionDelay}},
		{name: "deadline passed", network: "tcp", address: "127.0.0.1:" + e.open4, deadline: time.Now().Add(-time.Second)},
		{name: "negative timeout", network: "tcp", address: "127.0.0.1:" + e.open4, timeout: -time.Second},
		{name: "context canceled, literal", network: "tcp", address: "127.0.0.1:" + e.open4, ctx: ctxCanceled},
		{name: "context canceled, literal with a zone", network: "tcp", address: "[::1%lo]:" + e.open6, ctx: ctxCanceled},
		{name: "context canceled, name", network: "tcp", address: "both.test:" + e.dual, ctx: ctxCanceled},
		{name: "Control fails", network: "tcp", address: "127.0.0.1:" + e.open4, control: errors.New("control refused")},
		{name: "port out of range", network: "tcp", address: "127.0.0.1:65536"},
		{name: "missing port", network: "tcp", address: "127.0.0.1"},
		{name: "missing address", network: "tcp", address: ""},
		{name: "unknown network", network: "tcp7", address: "127.0.0.1:80"},
		{name: "missing bracket", network: "tcp", address: "[::1:80"},
		{name: "unknown service", network: "tcp", address: "127.0.0.1:no-such-service"},

		// UDP.
		{name: "UDP, IPv4", network: "udp", address: "127.0.0.1:" + e.udp4},
		{name: "UDP, udp4", network: "udp4", address: "127.0.0.1:" + e.udp4},
		{name: "UDP, udp6", network: "udp6", address: "[::1]:" + e.udp6},
		{name: "UDP, name with both", network: "udp", address: "both.test:" + e.udp6},
		{name: "UDP, empty host", network: "udp", address: ":" + e.udp4},
		{name: "UDP, 0.0.0.0", network: "udp", address: "0.0.0.0:" + e.udp4},
		{name: "UDP, SSDP multicast", network: "udp", address: "239.255.255.250:1900"},
		{name: "UDP, mDNS multicast", network: "udp", address: "224.0.0.251:5353"},
		{name: "UDP, IPv6 mDNS on lo", network: "udp", address: "[ff02::fb%lo]:5353"},
		{name: "UDP, broadcast", network: "udp", address: "255.255.255.255:9"},
		{name: "UDP, no route", network: "udp", address: "192.0.2.1:53", allow: []difference{diffNoNAT64}},
		{name: "UDP, LocalAddr ::1", network: "udp", address: "[::1]:" + e.udp6, local: &net.UDPAddr{IP: net.IPv6loopback}},
		{name: "UDP, LocalAddr 127.0.0.2", network: "udp", address: "127.0.0.1:" + e.udp4, local: &net.UDPAddr{IP: ip4("127.0.0.2")}},
		{name: "UDP, LocalAddr port only", network: "udp", address: "127.0.0.1:" + e.udp4, local: &net.UDPAddr{Port: free()}},
		{name: "UDP, LocalAddr port only, IPv6", network: "udp", address: "[::1]:" + e.udp6, local: &net.UDPAddr{Port: free()}},
		{name: "UDP, unknown name", network: "udp", address: "nx.test:53"},

		// Networks net.Dialer dials for PairDialer.
		{name: "unix", network: "unix", address: e.unixPath},
		{name: "ip4:icmp", network: "ip4:icmp", address: "127.0.0.1"},
		{name: "unknown ip protocol", network: "ip4:nosuchproto", address: "127.0.0.1"},
	}
}

// TestReadmeCountsLoopbackInputs keeps the README's count of this
// comparison's inputs ("runs N inputs through both dialers") true as inputs
// are added. inputs uses the environment's ports only as strings: a zero
// loopbackEnv is enough.
func TestReadmeCountsLoopbackInputs(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`runs (\d+) inputs through both dialers\s+in a namespace with only loopback`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("the README no longer says how many loopback inputs the comparison runs")
	}
	if said, got := string(m[1]), len((&loopbackEnv{}).inputs()); said != strconv.Itoa(got) {
		t.Errorf("the README says %s loopback inputs; the comparison runs %d", said, got)
	}
}
