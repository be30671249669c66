package probe_test

import (
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
				if due := s.Recheck(time.Now()); len(due) != 0 {
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := probe.NewStore()
				s.Observe(translating.snap())
				report(s, "fd00::10", dstD, probe.Success)
				report(s, "fd00::10", "fd00::1", probe.Success)
				report(s, src4, "198.51.100.1", probe.Success)
				report(s, src4, "192.168.1.1", probe.Success)
				s.Observe(tt.change(translating).snap())

				if got := hasPair(s, "fd00::10", dstD); got == tt.drop6 {
					t.Errorf("IPv6 pair beyond the link kept = %v, want %v", got, !tt.drop6)
				}
				if got := hasPair(s, src4, "198.51.100.1"); got == tt.drop4 {
					t.Errorf("IPv4 pair beyond the link kept = %v, want %v", got, !tt.drop4)
				}
				if !hasPair(s, "fd00::10", "fd00::1") || !hasPair(s, src4, "192.168.1.1") {
					t.Error("on-link pair dropped")
				}
				want := probe.Translators{NPTv6: !tt.drop6, NPTv6Tried: !tt.drop6, NAT44: !tt.drop4, NAT44Tried: !tt.drop4}
				if got := s.Translators(); got != want {
					t.Errorf("Translators = %+v, want %+v", got, want)
				}
				st := s.Status()
				if !st.ULAOK || !st.IPv4OK {
					t.Error("ok flags reset by a network change")
				}
			})
		})
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
