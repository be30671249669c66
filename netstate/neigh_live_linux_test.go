package netstate

import (
	"context"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// dialIn makes one TCP connect to dst from inside the network namespace ns (a
// namespace of the test's lab) and returns its error. The socket is created on an
// OS thread switched into ns; the thread is never returned to the runtime.
func dialIn(t *testing.T, ns string, dst netip.AddrPort, timeout time.Duration) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		fd, err := unix.Open("/var/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- os.NewSyscallError("open", err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- os.NewSyscallError("setns", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", dst.String())
		if err == nil {
			c.Close()
		}
		errc <- err
	}()
	return <-errc
}

func routerState(ip string, want NeighState) func(*Snapshot) bool {
	gw := netip.MustParseAddr(ip)
	return func(s *Snapshot) bool {
		n, ok := s.Neighbor(100, gw)
		return ok && n.State == want && (want == NeighFailed || n.HWAddr != "")
	}
}

// TestMonitorRouterNeighbor follows the neighbour entry of the default router
// through resolution, failure (the router's address gone) and repair, and checks
// that another neighbour does not make a new snapshot.
func TestMonitorRouterNeighbor(t *testing.T) {
	l := newLab(t)
	h, p := l.host, l.peer
	l.in(p, "addr", "add", "fe80::1/64", "dev", "v0p", "nodad")
	l.in(p, "addr", "add", "2001:db8:a::1/64", "dev", "v0p", "nodad")
	l.in(h, "addr", "add", "2001:db8:a::10/64", "dev", "v0", "nodad")
	l.in(h, "-6", "route", "add", "default", "via", "fe80::1", "dev", "v0")
	m, ch := watch(t, l)
	last := m.Snapshot().Generation
	router := netip.AddrPortFrom(netip.MustParseAddr("fe80::1%v0"), 9)

	// A connect to the router (refused: nothing listens) resolves it.
	if err := dialIn(t, h, router, 3*time.Second); err == nil {
		t.Log("the router accepted a connection on port 9")
	}
	await(t, ch, &last, liveWait, "the router reachable", routerState("fe80::1%v0", NeighReachable))

	// Another neighbour on the link is no change of the host.
	if err := dialIn(t, h, netip.MustParseAddrPort("[2001:db8:a::1]:9"), 3*time.Second); err == nil {
		t.Log("the neighbour accepted a connection on port 9")
	}
	select {
	case s := <-ch:
		t.Fatalf("a snapshot (generation %d, neighbours %+v) after resolving another neighbour", s.Generation, s.Neighbors)
	case <-time.After(500 * time.Millisecond):
	}

	// Without its address the router cannot be resolved: after three unanswered
	// solicitations, one a second, the entry is FAILED.
	l.in(p, "addr", "del", "fe80::1/64", "dev", "v0p")
	l.in(h, "neigh", "flush", "dev", "v0")
	dialIn(t, h, router, 5*time.Second)
	failed := await(t, ch, &last, 6*time.Second, "the router failed", routerState("fe80::1%v0", NeighFailed))
	if st := failed.RouterState(100, true); st != NeighFailed {
		t.Errorf("RouterState = %v, want failed", st)
	}
	// The source's router, found through the kernel's own rules and tables.
	if a, ok := failed.Addr(netip.MustParseAddr("2001:db8:a::10")); !ok {
		t.Error("the source is not in the snapshot")
	} else if st := failed.RouterStateOf(a); st != NeighFailed {
		t.Errorf("RouterStateOf(%v) = %v, want failed (rules %+v)", a.IP, st, failed.Rules)
	}

	// Back: a connect to the FAILED router makes the kernel solicit it again.
	l.in(p, "addr", "add", "fe80::1/64", "dev", "v0p", "nodad")
	dialIn(t, h, router, 3*time.Second)
	back := await(t, ch, &last, liveWait, "the router reachable again", routerState("fe80::1%v0", NeighReachable))
	if rev := Changes(failed, back).Revived(); !slices.Contains(rev, 100) {
		t.Errorf("Revived from failed to reachable = %v, want [100]", rev)
	}
}
