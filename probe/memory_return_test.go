package probe_test

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// TestAddressReadded: an address removed and re-added on the same
// network (same router, same prefix) gets its memory back.
func TestAddressReadded(t *testing.T) {
	for _, via := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			h := twoUplinks
			h.via = via
			s := probe.NewStore()
			snap := h.snap()
			snap.Generation = 1
			s.Observe(snap)
			sample(s, srcA, dstD, 20*time.Millisecond)
			sample(s, srcB, dstD, 60*time.Millisecond)

			gone := h
			gone.addrs = slices.DeleteFunc(slices.Clone(h.addrs), func(a string) bool { return a == "eth0 2001:db8:a::10/64" })
			snap = gone.snap()
			snap.Generation = 2
			s.Observe(snap)
			if hasPair(s, srcA, dstD) {
				t.Fatalf("via=%v: pair of a removed address still live", via)
			}
			time.Sleep(5 * time.Second)
			snap = h.snap()
			snap.Generation = 3
			s.Observe(snap)
			if !hasPair(s, srcA, dstD) {
				t.Fatalf("via=%v: address back on the same network: its pair was not restored", via)
			}
			if got := srtt(t, s, srcA, dstD); got != 20*time.Millisecond {
				t.Errorf("via=%v: SRTT after re-add = %v, want 20ms", via, got)
			}
			wantHealth(t, s, srcA, probe.Alive)
		})
	}
}

// TestKernelDeadThenGoneThenBack: a link goes down (its sources dead by
// the kernel), its address is removed while down, then link and address come
// back: the source must not come back Dead, and must be re-checked / usable.
func TestKernelDeadThenGoneThenBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := twoUplinks
		h.via = true
		s := probe.NewStore()
		snap := h.snap()
		snap.Generation = 1
		s.Observe(snap)
		sample(s, srcA, dstD, 20*time.Millisecond)
		sample(s, srcB, dstD, 60*time.Millisecond)

		down := h
		down.down = []string{"eth0"}
		snap = down.snap()
		snap.Generation = 2
		s.Observe(snap)
		wantHealth(t, s, srcA, probe.Dead)

		gone := down
		gone.addrs = slices.DeleteFunc(slices.Clone(h.addrs), func(a string) bool { return a == "eth0 2001:db8:a::10/64" })
		snap = gone.snap()
		snap.Generation = 3
		s.Observe(snap)

		time.Sleep(10 * time.Second)
		snap = h.snap()
		snap.Generation = 4
		s.Observe(snap)
		if got := s.Health(addr(srcA)); got == probe.Dead {
			t.Errorf("source back with its link up: health %v", got)
		}
		_ = netstate.NeighFailed
	})
}

// withNeigh is h's snapshot at generation gen with the IPv4 router of eth0 at
// MAC mac (none when mac is "").
func withNeigh(h host, gen uint64, mac string) *netstate.Snapshot {
	snap := h.snap()
	snap.Generation = gen
	if mac != "" {
		snap.Neighbors = []netstate.Neighbor{{Index: 1, IP: snap.Gateway4, HWAddr: mac, State: netstate.NeighReachable}}
	}
	return snap
}

// TestSameRouterIPOtherMAC: home and office both use 192.168.1.1 as the
// router and give the host 192.168.1.10; only the router's MAC tells them
// apart. Going home from the office (link down, up, then the router resolved)
// must end with home's memory.
func TestSameRouterIPOtherMAC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const dst4 = "198.51.100.1"
		h := twoUplinks
		h.via = true
		s := probe.NewStore()
		s.Observe(withNeigh(h, 1, "02:00:00:00:00:aa"))
		sample(s, src4, dst4, 20*time.Millisecond)
		s.Observe(withNeigh(h, 2, "02:00:00:00:00:bb")) // the office
		if hasPair(s, src4, dst4) {
			t.Fatal("office: home's pair still live")
		}
		sample(s, src4, dst4, 80*time.Millisecond)
		down := h
		down.down = []string{"eth0"}
		s.Observe(withNeigh(down, 3, ""))
		s.Observe(withNeigh(h, 4, "")) // home, router not resolved yet
		t.Logf("home, router not yet resolved: SRTT %v", srtt(t, s, src4, dst4))
		s.Observe(withNeigh(h, 5, "02:00:00:00:00:aa"))
		if got := srtt(t, s, src4, dst4); got != 20*time.Millisecond {
			t.Errorf("home again, router resolved: SRTT %v, want home's 20ms", got)
		}
	})
}

// TestReturnToKnownNetworkSameRouterIP: two networks, X and Y, whose routers
// both use 192.168.1.1 (as many home routers do) with different MACs. The host
// was on X, then on Y (measured 20 ms), then off-line. It returns to Y: its
// address appears before the router's neighbour entry is resolved (as after
// any link-up), then the router answers with Y's MAC. Y's memory is restored,
// although X, too, matches a router whose MAC is not known yet. With the same
// address on both networks, the most recently left one is the guess until the
// MAC is known, and then the right one's memory replaces it.
func TestReturnToKnownNetworkSameRouterIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const dst4 = "198.51.100.1"
		x := host{addrs: []string{"eth0 192.168.1.50/24", "eth1 2001:db8:b::10/64"}, gw4: "192.168.1.1", routes: true, via: true}
		y := x
		y.addrs = []string{"eth0 192.168.1.10/24", "eth1 2001:db8:b::10/64"}
		off := x
		off.addrs = []string{"eth1 2001:db8:b::10/64"}
		off.gw4 = ""

		s := probe.NewStore()
		s.Observe(withNeigh(x, 1, "02:00:00:00:00:01"))
		sample(s, "192.168.1.50", dst4, 30*time.Millisecond)
		s.Observe(withNeigh(y, 2, "02:00:00:00:00:02"))
		sample(s, "192.168.1.10", dst4, 20*time.Millisecond)
		s.Observe(withNeigh(off, 3, ""))
		if n := s.Networks(); n != 2 {
			t.Fatalf("networks remembered: %d, want 2 (X and Y)", n)
		}
		time.Sleep(time.Minute)
		s.Observe(withNeigh(y, 4, ""))                  // back on Y, router not resolved yet
		s.Observe(withNeigh(y, 5, "02:00:00:00:00:02")) // Y's router answers
		if !hasPair(s, "192.168.1.10", dst4) {
			t.Fatalf("back on Y with its router resolved: Y's pair not restored (networks remembered: %d)", s.Networks())
		}
		if got := srtt(t, s, "192.168.1.10", dst4); got != 20*time.Millisecond {
			t.Errorf("back on Y: SRTT %v, want Y's 20ms", got)
		}
	})
}

// TestReturnSameAddressSameRouterIP: the same address on two networks whose
// routers share their IP address; back on the one left first, the guess made
// while the router's MAC is unknown (the network left last) gives way to the
// right memory once the MAC is known.
func TestReturnSameAddressSameRouterIP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const dst4 = "198.51.100.1"
		x := host{addrs: []string{"eth0 192.168.1.10/24", "eth1 2001:db8:b::10/64"}, gw4: "192.168.1.1", routes: true, via: true}
		off := x
		off.addrs = []string{"eth1 2001:db8:b::10/64"}
		off.gw4 = ""

		s := probe.NewStore()
		s.Observe(withNeigh(x, 1, "02:00:00:00:00:01"))
		sample(s, "192.168.1.10", dst4, 30*time.Millisecond)
		s.Observe(withNeigh(x, 2, "02:00:00:00:00:02")) // Y: same address, another router
		sample(s, "192.168.1.10", dst4, 20*time.Millisecond)
		s.Observe(withNeigh(off, 3, ""))
		time.Sleep(time.Minute)
		s.Observe(withNeigh(x, 4, "")) // back, router not resolved yet: Y's memory, the last left
		if got := srtt(t, s, "192.168.1.10", dst4); got != 20*time.Millisecond {
			t.Errorf("router not resolved yet: SRTT %v, want the last network's 20ms", got)
		}
		s.Observe(withNeigh(x, 5, "02:00:00:00:00:01")) // X's router answers
		if got := srtt(t, s, "192.168.1.10", dst4); got != 30*time.Millisecond {
			t.Errorf("back on X, router resolved: SRTT %v, want X's 30ms", got)
		}
		if n := s.Networks(); n != 1 {
			t.Errorf("networks remembered: %d, want 1 (Y)", n)
		}
	})
}
