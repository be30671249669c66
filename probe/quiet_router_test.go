package probe_test

import (
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// TestQuietIdleFailedRouter checks that a quiet Prober of a program that never
// dialed sends nothing to a FAILED default router (a second NIC whose router is
// gone), where it used to connect to it on port 80 every minute, forever.
// TestProberFailedRouter has the router re-checked while the program dials.
func TestQuietIdleFailedRouter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := twoUplinks
		h.via = true
		l := newLab(h, probe.ProberConfig{Quiet: true}, nil)
		defer l.p.Close()
		// The router is gone: connects through it fail (EHOSTUNREACH, as Linux
		// reports a FAILED neighbour).
		l.net.setBroken(func(probe.Path) (bool, error) { return false, syscall.EHOSTUNREACH })
		l.w.Set(withRouter(h, 2, netstate.NeighFailed))
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		if got := l.net.seen(nil); len(got) != 0 {
			t.Errorf("never dialed, idle 30 min: %d connects, first %v, last %v after %v", len(got), got[0].Path, got[len(got)-1].Path, got[len(got)-1].at.Sub(got[0].at))
		}
	})
}

// TestWantMetadataNotProbed checks that a cloud metadata address the
// application dials (Azure's WireServer, a global address with a candidate on
// every IPv4 link) is not probed over the other paths, quiet or eager.
func TestWantMetadataNotProbed(t *testing.T) {
	for _, quiet := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			h := host{addrs: []string{"eth0 192.168.1.10/24", "eth1 10.0.0.10/24"}, routes: true}
			l := newLab(h, probe.ProberConfig{Quiet: quiet}, nil)
			defer l.p.Close()
			wire := netip.MustParseAddrPort("168.63.129.16:80")
			for range 10 {
				l.p.Want(wire)
				time.Sleep(10 * time.Second)
			}
			synctest.Wait()
			for _, d := range l.net.seen(nil) {
				if d.Path.Dst == wire {
					t.Fatalf("quiet %v: the metadata address was probed: %v", quiet, d.Path)
				}
			}
		})
	}
}
