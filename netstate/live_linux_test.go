package netstate

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// liveWait bounds how long a root test waits for the subscriber to see a change
// the test made: a correctness wait, not a timing assertion.
const liveWait = 2 * time.Second

// watch starts a Monitor on the lab's host namespace and returns it with a channel
// of what its subscriber receives.
func watch(t *testing.T, l *lab) (*Monitor, <-chan *Snapshot) {
	t.Helper()
	m, err := New(WithNetNS(l.fd), WithLogger(zaptest.NewLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ch := make(chan *Snapshot, 1000)
	m.Subscribe(func(s *Snapshot) { ch <- s })
	return m, ch
}

// await reads snapshots from ch until one satisfies ok, checking that generations
// arrive in order without gaps.
func await(t *testing.T, ch <-chan *Snapshot, last *uint64, within time.Duration, what string, ok func(*Snapshot) bool) *Snapshot {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case s := <-ch:
			if s.Generation != *last+1 {
				t.Fatalf("generation %d after %d", s.Generation, *last)
			}
			*last = s.Generation
			if ok(s) {
				return s
			}
		case <-timeout:
			t.Fatalf("no snapshot with %s within %v", what, within)
		}
	}
}

func hasAddr(ip string, pred func(Addr) bool) func(*Snapshot) bool {
	want := netip.MustParseAddr(ip)
	return func(s *Snapshot) bool {
		for _, a := range s.Addrs {
			if a.IP == want {
				return pred(a)
			}
		}
		return false
	}
}

func noAddr(ip string) func(*Snapshot) bool {
	return func(s *Snapshot) bool { _, ok := s.Addr(netip.MustParseAddr(ip)); return !ok }
}

func hasRoute(dst string, pred func(Route) bool) func(*Snapshot) bool {
	want := netip.MustParsePrefix(dst)
	return func(s *Snapshot) bool {
		return slices.ContainsFunc(s.Routes, func(r Route) bool { return r.Dst == want && pred(r) })
	}
}

func anyRoute(Route) bool { return true }

// TestMonitorEvents changes the lab host step by step and checks that the
// subscriber sees each change.
func TestMonitorEvents(t *testing.T) {
	l := newLab(t)
	m, ch := watch(t, l)
	last := m.Snapshot().Generation
	h := l.host
	step := func(name string, within time.Duration, ok func(*Snapshot) bool, cmds ...[]string) {
		t.Helper()
		for _, c := range cmds {
			l.in(h, c...)
		}
		s := await(t, ch, &last, within, name, ok)
		if m.Snapshot().Generation < s.Generation {
			t.Fatalf("%s: Snapshot() older than the published snapshot", name)
		}
	}
	args := func(a ...string) []string { return a }

	step("IPv4 address and its prefix route", liveWait,
		func(s *Snapshot) bool {
			return hasAddr("192.0.2.10", func(a Addr) bool { return a.Usable() && a.Bits == 24 && a.Interface == "v0" })(s) &&
				hasRoute("192.0.2.0/24", func(r Route) bool { return r.Index == 100 })(s)
		},
		args("addr", "add", "192.0.2.10/24", "dev", "v0"))
	step("IPv6 address with nodad, not tentative", liveWait,
		hasAddr("2001:db8:a::10", func(a Addr) bool { return a.Flags == 0 && a.ValidLifetime == Forever }),
		args("addr", "add", "2001:db8:a::10/64", "dev", "v0", "nodad"))
	step("preferred_lft 0 is deprecated", liveWait,
		hasAddr("2001:db8:a::20", func(a Addr) bool { return a.Has(Deprecated) && a.PreferredLifetime == 0 && a.Usable() }),
		args("addr", "add", "2001:db8:a::20/64", "dev", "v0", "nodad", "preferred_lft", "0"))
	step("without nodad: tentative first", liveWait,
		hasAddr("2001:db8:a::30", func(a Addr) bool { return a.Has(Tentative) && !a.Usable() }),
		args("addr", "add", "2001:db8:a::30/64", "dev", "v0"))
	// DAD: up to 1 s of random delay plus 1 s for the probe.
	step("then not tentative once DAD is done", 4*time.Second,
		hasAddr("2001:db8:a::30", func(a Addr) bool { return a.Flags == 0 && a.Usable() }))
	step("link-local address carries its zone", liveWait,
		hasAddr("fe80::10%v0", func(a Addr) bool { return a.Class() == LinkLocal6 && a.Usable() }),
		args("addr", "add", "fe80::10/64", "dev", "v0", "nodad"))
	step("route added", liveWait,
		hasRoute("198.51.100.0/24", func(r Route) bool { return r.Gateway == netip.MustParseAddr("192.0.2.1") }),
		args("route", "add", "198.51.100.0/24", "via", "192.0.2.1"))
	step("route removed", liveWait,
		func(s *Snapshot) bool { return !hasRoute("198.51.100.0/24", anyRoute)(s) },
		args("route", "del", "198.51.100.0/24"))
	step("default gateways, IPv6 with zone", liveWait,
		func(s *Snapshot) bool {
			return s.Gateway4 == netip.MustParseAddr("192.0.2.1") && s.Gateway6 == netip.MustParseAddr("fe80::1%v0")
		},
		args("route", "add", "default", "via", "192.0.2.1"),
		args("-6", "route", "add", "default", "via", "fe80::1", "dev", "v0"))
	step("link down", liveWait,
		func(s *Snapshot) bool {
			lk, _ := s.Link(100)
			return !lk.Up && !lk.Running && !slices.ContainsFunc(s.Sources(), func(a Addr) bool { return a.Index == 100 })
		},
		args("link", "set", "v0", "down"))
	step("link up", liveWait,
		func(s *Snapshot) bool {
			lk, _ := s.Link(100)
			return lk.Up && lk.Running && hasAddr("192.0.2.10", Addr.Usable)(s)
		},
		args("link", "set", "v0", "up"))
	step("address removed", liveWait, noAddr("192.0.2.10"),
		args("addr", "del", "192.0.2.10/24", "dev", "v0"))
}

// TestMonitorRootNamespace reads the test process's own namespace: no root
// needed, and no lookup leaves loopback.
func TestMonitorRootNamespace(t *testing.T) {
	m, err := New(WithLogger(zaptest.NewLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Snapshot()
	i := slices.IndexFunc(s.Links, func(l Link) bool { return l.Loopback })
	if i < 0 || s.Generation != 1 {
		t.Fatalf("no loopback link in %+v", s)
	}
	for _, a := range s.Addrs {
		if a.Class() == Loopback || a.Index == s.Links[i].Index {
			t.Errorf("loopback address in Addrs: %+v", a)
		}
	}
	d, err := m.RouteFor(context.Background(), netip.Addr{}, netip.MustParseAddr("127.0.0.1"))
	if err != nil || d.Index != s.Links[i].Index || d.Src != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("RouteFor(127.0.0.1) = %+v, %v", d, err)
	}
}

// TestNewBadNetNS checks that a namespace that cannot be entered fails New.
func TestNewBadNetNS(t *testing.T) {
	if m, err := New(WithNetNS(1 << 20)); err == nil {
		m.Close()
		t.Fatal("New with a bad namespace fd succeeded")
	}
}
