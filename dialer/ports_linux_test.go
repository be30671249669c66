package dialer_test

import (
	"cmp"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/internal/isolate"
	"github.com/getapr/getapr/pairs"
)

// Sustained dialing fills the ephemeral ports with TIME_WAIT connections. A
// PairDialer attempt must not get fewer usable ports than net.Dialer: the
// kernel then picks its port at connect from the whole 4-tuple (reusing a
// TIME_WAIT one on loopback after a second, tcp_tw_reuse = 2), where a
// source bound with port 0 gets one at bind from the ports no socket holds at
// all. These tests dial more times than there are ports, in a namespace of
// their own whose port range is shrunk to portRange ports, so that a few
// hundred dials show what tens of thousands show with the default range
// (BenchmarkParallel does that).
const (
	portLow   = 40000
	portRange = 256
)

// portsHost adds a non-loopback address to the namespace of TestPortsChild,
// on a veth pair with both ends inside it (the kernels of these machines have
// no dummy interfaces).
var portsHost = [][]string{
	{"ip", "link", "add", "gapr-p0", "type", "veth", "peer", "name", "gapr-p1"},
	{"ip", "addr", "add", "10.99.0.1/24", "dev", "gapr-p0"},
	{"ip", "link", "set", "gapr-p1", "up"},
	{"ip", "link", "set", "gapr-p0", "up"},
}

// portScenario is one way of dialing past the port range.
type portScenario struct {
	name string
	// dst is the listeners' address; each dialer gets ports of its own
	// (portsListen), so that their 4-tuples never meet.
	dst string
	// local is PairDialer.LocalAddr, nil for none.
	local net.Addr
	// bound is the source a dialer that binds it with port 0 uses: the
	// control, the way PairDialer dialed before IP_BIND_ADDRESS_NO_PORT.
	bound net.IP
	// dials is how many dials each dialer makes, alternating between
	// destinations ports; pace is the least time between two of them.
	dials, destinations int
	pace                time.Duration
	// netAtLeast is the fewest successes net.Dialer must have for the
	// scenario to have tested anything beyond the port range.
	netAtLeast int
	// capacity is how many dials the port range lets through: PairDialer must
	// connect as often as net.Dialer, or that often. (The kernel may free a
	// TIME_WAIT port early: net.Dialer was seen to connect 514 times where
	// two destinations of 256 ports each allow 512.)
	capacity int
}

var portScenarios = []portScenario{{
	// Loopback, unbound as net.Dialer leaves it: TIME_WAIT ports are reused
	// after a second, so at most half the range per second never runs out.
	name: "loopback", dst: "127.0.0.1", bound: net.IPv4(127, 0, 0, 1),
	dials: portRange * 3 / 2, destinations: 1, pace: 2 * time.Second / portRange,
	netAtLeast: portRange * 3 / 2, capacity: portRange * 3 / 2,
}, {
	// A loopback source the caller asked for (LocalAddr).
	name: "loopback-bound", dst: "127.0.0.1", local: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, bound: net.IPv4(127, 0, 0, 2),
	dials: portRange * 3 / 2, destinations: 1, pace: 2 * time.Second / portRange,
	netAtLeast: portRange * 3 / 2, capacity: portRange * 3 / 2,
}, {
	// A non-loopback source, which pairs binds: no TIME_WAIT reuse at all
	// (tcp_tw_reuse = 2), but the port range per destination, which two
	// destinations double.
	name: "nonloopback", dst: "10.99.0.1", bound: net.IPv4(10, 99, 0, 1),
	dials: portRange * 3, destinations: 2,
	netAtLeast: portRange * 3 / 2, capacity: 2 * portRange,
}}

// TestPortsSustained runs each scenario of TestPortsChild in a network
// namespace of its own: PairDialer against net.Dialer, and the control (a
// source bound with port 0) apart, since the ports it binds would block the
// others'.
func TestPortsSustained(t *testing.T) {
	for _, sc := range portScenarios {
		for _, kind := range []string{"compare", "control"} {
			name := sc.name + "-" + kind
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				isolate.Run(t, "^TestPortsChild$/^"+name+"$", isolate.Options{NewNetNS: true, Commands: portsHost})
			})
		}
	}
}

// TestPortsChild is the dialing itself, in a child of TestPortsSustained.
func TestPortsChild(t *testing.T) {
	if !isolate.Current().NewNetNS {
		t.Skip("only in a child of TestPortsSustained")
	}
	for i, sc := range portScenarios {
		t.Run(sc.name+"-compare", func(t *testing.T) {
			base := 5000 + 10*i
			nd := portDials(t, sc, &net.Dialer{}, base)
			sel, err := pairs.New(pairs.WithoutProbing(), pairs.WithResolver(noDNSResolver()))
			if err != nil {
				t.Fatal(err)
			}
			defer sel.Close()
			pd := portDials(t, sc, &dialer.PairDialer{Selector: sel, LocalAddr: sc.local}, base+sc.destinations)
			t.Logf("%s: net.Dialer %v; PairDialer %v", sc.name, nd, pd)
			if nd.ok < sc.netAtLeast {
				t.Fatalf("net.Dialer connected %d times, fewer than %d: the scenario does not test what it should", nd.ok, sc.netAtLeast)
			}
			if want := min(nd.ok, sc.capacity); pd.ok < want {
				t.Errorf("PairDialer connected %d times of %d, net.Dialer %d; want at least %d", pd.ok, sc.dials, nd.ok, want)
			}
		})
		t.Run(sc.name+"-control", func(t *testing.T) {
			cd := portDials(t, sc, &net.Dialer{LocalAddr: &net.TCPAddr{IP: sc.bound}}, 5000+10*i)
			t.Logf("%s: bound with port 0 at bind %v", sc.name, cd)
			if cd.ok >= sc.netAtLeast {
				t.Errorf("a source bound with port 0 connected %d times of %d: the scenario would not catch it", cd.ok, sc.dials)
			}
		})
	}
}

// portResult counts a dialer's successes and its errors by kind.
type portResult struct {
	ok   int
	errs map[string]int
}

func (r portResult) String() string {
	s := strconv.Itoa(r.ok) + " connected"
	for e, n := range r.errs {
		s += ", " + strconv.Itoa(n) + "× " + e
	}
	return s
}

// portDials shrinks the namespace's port range, listens on sc.destinations
// ports from base on sc.dst, and dials them in turn sc.dials times with d,
// closing each connection at once (the client closes first: its side goes
// to TIME_WAIT).
func portDials(t *testing.T, sc portScenario, d interface {
	DialContext(context.Context, string, string) (net.Conn, error)
}, base int) portResult {
	t.Helper()
	rng := strconv.Itoa(portLow) + " " + strconv.Itoa(portLow+portRange-1)
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_local_port_range", []byte(rng), 0o644); err != nil {
		t.Fatal(err)
	}
	var dsts []string
	for p := range sc.destinations {
		addr := net.JoinHostPort(sc.dst, strconv.Itoa(base+p))
		closingServer(t, addr)
		dsts = append(dsts, addr)
	}
	r := portResult{errs: map[string]int{}}
	ctx := t.Context()
	start := time.Now()
	for i := range sc.dials {
		if wait := time.Until(start.Add(time.Duration(i) * sc.pace)); wait > 0 {
			time.Sleep(wait)
		}
		c, err := d.DialContext(ctx, "tcp4", dsts[i%len(dsts)])
		if err != nil {
			r.errs[errnoText(err)]++
			continue
		}
		r.ok++
		c.Close()
	}
	return r
}

// errnoText returns the system error in err, or err's text.
func errnoText(err error) string {
	if errno, ok := errors.AsType[syscall.Errno](err); ok {
		return errno.Error()
	}
	return err.Error()
}

// closingServer listens on addr and closes each connection once its client
// has, until the test ends.
func closingServer(tb testing.TB, addr string) {
	tb.Helper()
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { io.Copy(io.Discard, c); c.Close() })
		}
	})
	tb.Cleanup(func() { ln.Close(); wg.Wait() })
}

// sustainedDials is how many times BenchmarkSustained dials with each dialer
// in each scenario: more than the default port range (32768-60999) holds.
const sustainedDials = 30000

// BenchmarkSustained is TestPortsSustained at full scale: in a network
// namespace of its own with the default port range, each dialer connects
// sustainedDials times in a row to one destination, closing each connection
// at once (its side goes to TIME_WAIT), from loopback and from a non-loopback
// source (an address on a veth pair inside the namespace, which PairDialer
// binds). It reports, per scenario and dialer, the connections made, the
// errors and the dials per second. On loopback every dial should connect: the
// kernel reuses TIME_WAIT ports there after a second (tcp_tw_reuse = 2, the
// default). From the non-loopback source it reuses none for 60 s under that
// default, and both dialers run out after the range (TestPortsSustained shows
// that, on a small range); here the namespace has tcp_tw_reuse = 1, which
// reuses them there too, so every dial should connect as well: a bound
// PairDialer attempt gets the reused ports an unbound net.Dialer gets.
func BenchmarkSustained(b *testing.B) {
	if !isolate.InChild() {
		isolate.Bench(b, isolate.Options{NewNetNS: true, Commands: portsHost})
		return
	}
	sel, err := pairs.New(pairs.WithoutProbing(), pairs.WithResolver(noDNSResolver()))
	if err != nil {
		b.Fatal(err)
	}
	defer sel.Close()
	dialers := []struct {
		name string
		d    interface {
			DialContext(context.Context, string, string) (net.Conn, error)
		}
	}{{"netdialer", &net.Dialer{}}, {"pairdialer", &dialer.PairDialer{Selector: sel}}}
	port := 5000
	for b.Loop() {
		for _, dst := range []struct{ name, addr, twReuse string }{{"loopback", "127.0.0.1", "2"}, {"bound", "10.99.0.1", "1"}} {
			if err := os.WriteFile("/proc/sys/net/ipv4/tcp_tw_reuse", []byte(dst.twReuse), 0o644); err != nil {
				b.Fatal(err)
			}
			for _, d := range dialers {
				port++
				addr := net.JoinHostPort(dst.addr, strconv.Itoa(port))
				closingServer(b, addr)
				start := time.Now()
				ok, errs, first := 0, 0, ""
				for range sustainedDials {
					c, err := d.d.DialContext(b.Context(), "tcp4", addr)
					if err != nil {
						errs++
						first = cmp.Or(first, errnoText(err))
						continue
					}
					ok++
					c.Close()
				}
				name := dst.name + "-" + d.name
				b.ReportMetric(float64(ok), name+"-connected")
				b.ReportMetric(float64(errs), name+"-errors")
				b.ReportMetric(sustainedDials/time.Since(start).Seconds(), name+"-dials/s")
				if errs > 0 {
					b.Logf("%s: %d connected, %d errors, the first: %s", name, ok, errs, first)
				}
			}
		}
	}
}
