package probe_test

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// sources returns the addresses Status lists, as strings.
func sources(s *probe.Store) []string {
	var out []string
	for _, ss := range s.Status().Sources {
		out = append(out, ss.Addr.String())
	}
	return out
}

func hasPair(s *probe.Store, src, dst string) bool {
	_, ok := s.Pair(addr(src), addr(dst))
	return ok
}

func TestObservePurgeAndAdd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := probe.NewStore()
		s.Observe(twoUplinks.snap())
		report(s, srcA, dstD, probe.Success)
		report(s, srcB, dstD, probe.Success)

		h := twoUplinks
		h.addrs = []string{"eth0 192.168.1.10/24", "eth1 2001:db8:b::10/64", "eth1 2001:db8:b::11/64"}
		s.Observe(h.snap())
		if hasPair(s, srcA, dstD) {
			t.Error("pair of a removed address kept")
		}
		if !hasPair(s, srcB, dstD) {
			t.Error("pair of a kept address purged")
		}
		wantHealth(t, s, srcA, probe.Unknown)
		wantHealth(t, s, srcB, probe.Alive)
		wantHealth(t, s, "2001:db8:b::11", probe.Unknown)
		got, want := sources(s), []string{src4, srcB, "2001:db8:b::11"}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("Status sources = %v, want %v", got, want)
		}
		report(s, srcA, dstD, probe.Success) // an attempt that was under way
		if hasPair(s, srcA, dstD) {
			t.Error("late outcome of a removed address recreated its pair")
		}
	})
}

func TestObserveKernelDown(t *testing.T) {
	tests := []struct {
		name string
		snap func() *netstate.Snapshot
	}{
		{"link not running", func() *netstate.Snapshot {
			h := twoUplinks
			h.down = []string{"eth0"}
			return h.snap()
		}},
		{"no route through the link", func() *netstate.Snapshot {
			snap := twoUplinks.snap()
			snap.Routes = slices.DeleteFunc(snap.Routes, func(r netstate.Route) bool { return r.Index == 1 })
			return snap
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := probe.NewStore()
				s.Observe(twoUplinks.snap())
				report(s, srcA, dstD, probe.Success)
				s.Observe(tt.snap())
				wantHealth(t, s, srcA, probe.Dead)
				wantHealth(t, s, src4, probe.Dead)
				wantHealth(t, s, srcB, probe.Unknown)
				time.Sleep(time.Hour)
				if due := s.Recheck(time.Now(), false); len(due) != 0 {
					t.Errorf("Recheck returned sources the kernel killed: %v", due)
				}
				s.Observe(twoUplinks.snap())
				wantHealth(t, s, srcA, probe.Unknown)
				wantHealth(t, s, src4, probe.Unknown)
				if !hasPair(s, srcA, dstD) {
					t.Error("a link going down purged its pairs")
				}
			})
		})
	}
}

// translating is a host with a ULA and an RFC 1918 source, both behind translators.
var translating = host{
	addrs:  []string{"eth0 fd00::10/64", "eth0 192.168.1.10/24", "eth0 2001:db8:a::10/64"},
	gw4:    "192.168.1.1",
	gw6:    "fe80::1%eth0",
	routes: true,
}

// TestNetworkChange moves the host's sources to other networks and back: a
// source on another network (its link's default router or its prefix changed) is
// set aside with its pairs, its family's translator flags go back to "not tried",
// and coming back restores both.
func TestNetworkChange(t *testing.T) {
	tests := []struct {
		name         string
		change       func(h host) host
		drop6, drop4 bool
	}{
		{"nothing", func(h host) host { return h }, false, false},
		{"address added", func(h host) host { h.addrs = append(h.addrs, "eth0 2001:db8:a::11/64"); return h }, false, false},
		{"gateway6 changed", func(h host) host { h.gw6 = "fe80::2%eth0"; return h }, true, false},
		{"gateway4 gone", func(h host) host { h.gw4 = ""; return h }, false, true},
		{"ipv6 renumbered", func(h host) host {
			// the same ULA source, but in a new prefix, and a new GUA
			h.addrs = []string{"eth0 fd00::10/120", "eth0 192.168.1.10/24", "eth0 2001:db8:f::10/64"}
			return h
		}, true, false},
	}
	home := translating
	home.via = true
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := probe.NewStore()
				s.Observe(home.snap())
				report(s, "fd00::10", dstD, probe.Success)
				report(s, "fd00::10", "fd00::1", probe.Success)
				report(s, src4, "198.51.100.1", probe.Success)
				report(s, src4, "192.168.1.1", probe.Success)
				all := probe.Translators{NPTv6: true, NPTv6Tried: true, NAT44: true, NAT44Tried: true}
				check := func(when string, drop6, drop4 bool) {
					t.Helper()
					for _, dst := range []string{dstD, "fd00::1"} {
						if got := hasPair(s, "fd00::10", dst); got == drop6 {
							t.Errorf("%s: IPv6 pair to %s kept = %v, want %v", when, dst, got, !drop6)
						}
					}
					for _, dst := range []string{"198.51.100.1", "192.168.1.1"} {
						if got := hasPair(s, src4, dst); got == drop4 {
							t.Errorf("%s: IPv4 pair to %s kept = %v, want %v", when, dst, got, !drop4)
						}
					}
					want := probe.Translators{NPTv6: !drop6, NPTv6Tried: !drop6, NAT44: !drop4, NAT44Tried: !drop4}
					if got := s.Translators(); got != want {
						t.Errorf("%s: Translators = %+v, want %+v", when, got, want)
					}
					if st := s.Status(); !st.ULAOK || !st.IPv4OK {
						t.Errorf("%s: ok flags reset by a network change", when)
					}
				}
				s.Observe(tt.change(home).snap())
				check("moved", tt.drop6, tt.drop4)
				back := home.snap()
				back.Generation = 2
				s.Observe(back)
				check("back", false, false)
				if got := s.Translators(); got != all {
					t.Errorf("back: Translators = %+v, want %+v", got, all)
				}
			})
		})
	}
}

// TestNetworkMemoryBounded checks that a Store keeps the memory of at most
// WithMaxNetworks networks, the least recently left going first.
func TestNetworkMemoryBounded(t *testing.T) {
	s := probe.NewStore(probe.WithMaxNetworks(2))
	for i := range 4 {
		h := host{addrs: []string{"eth0 2001:db8:a::10/64"}, gw6: fmt.Sprintf("fe80::%d%%eth0", i+1), routes: true, via: true}
		snap := h.snap()
		snap.Generation = uint64(i + 1)
		s.Observe(snap)
		report(s, "2001:db8:a::10", dstD, probe.Success)
	}
	if n := s.Networks(); n != 2 {
		t.Fatalf("Networks = %d, want 2", n)
	}
	// The first network (router fe80::1) was forgotten, the third (fe80::3) kept.
	for i, gw := range []string{"fe80::1%eth0", "fe80::3%eth0"} {
		gen := uint64(5 + i)
		h := host{addrs: []string{"eth0 2001:db8:a::10/64"}, gw6: gw, routes: true, via: true}
		snap := h.snap()
		snap.Generation = gen
		s.Observe(snap)
		if got, want := hasPair(s, "2001:db8:a::10", dstD), gw == "fe80::3%eth0"; got != want {
			t.Errorf("back behind %s: pair restored = %v, want %v", gw, got, want)
		}
	}
}

func TestObserveOrder(t *testing.T) {
	s := probe.NewStore()
	newer := twoUplinks.snap()
	newer.Generation = 5
	older := host{addrs: []string{"eth0 2001:db8:a::10/64"}}.snap()
	older.Generation = 4
	s.Observe(newer)
	s.Observe(older)
	s.Observe(nil)
	if got := len(s.Status().Sources); got != 3 {
		t.Errorf("after an older snapshot: %d sources, want 3", got)
	}
}
