package probe_test

import (
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/probe"
)

// twoUplinks is a host with one GUA per uplink and an IPv4 address.
var twoUplinks = host{
	addrs: []string{
		"eth0 2001:db8:a::10/64", "eth0 192.168.1.10/24",
		"eth1 2001:db8:b::10/64",
	},
	gw4: "192.168.1.1", gw6: "2001:db8:a::1", routes: true,
}

const (
	srcA = "2001:db8:a::10"
	srcB = "2001:db8:b::10"
	src4 = "192.168.1.10"
	dstD = "2001:db8:d::1"
)

// report records an attempt from src to dst ending now with r.
func report(s *probe.Store, src, dst string, r probe.Result) {
	s.Report(outcome(src, dst, r, 0, time.Now()))
}

// downEverywhere: both sources reach dstD, then a neighbour of it is down:
// both time out to it, twice.
func downEverywhere(s *probe.Store) {
	report(s, srcA, dstD, probe.Success)
	report(s, srcB, dstD, probe.Success)
	for range 2 {
		report(s, srcA, "2001:db8:d::2", probe.Timeout)
		report(s, srcB, "2001:db8:d::2", probe.Timeout)
	}
}

func TestHealthStateMachine(t *testing.T) {
	tests := []struct {
		name  string
		steps func(s *probe.Store)
		src   string
		want  probe.Health
	}{
		{"unknown at first", func(s *probe.Store) {}, srcA, probe.Unknown},
		{"alive on success", func(s *probe.Store) { report(s, srcA, dstD, probe.Success) }, srcA, probe.Alive},
		{"alive on refused", func(s *probe.Store) { report(s, srcA, dstD, probe.Refused) }, srcA, probe.Alive},
		{"suspect when another source reaches the destination", func(s *probe.Store) {
			report(s, srcB, dstD, probe.Success)
			report(s, srcA, dstD, probe.Timeout)
		}, srcA, probe.Suspect},
		{"suspect when another source reaches a nearby destination", func(s *probe.Store) {
			report(s, srcB, "2001:db8:ffff::1", probe.Success)
			report(s, srcA, dstD, probe.Unreachable)
		}, srcA, probe.Suspect},
		{"dead after two", func(s *probe.Store) {
			report(s, srcB, dstD, probe.Success)
			report(s, srcA, dstD, probe.Timeout)
			report(s, srcA, dstD, probe.Timeout)
		}, srcA, probe.Dead},
		{"not blamed when nobody reaches it", func(s *probe.Store) {
			report(s, srcA, "2001:db8:e::1", probe.Success)
			report(s, srcB, "2001:db9::1", probe.Success)
			report(s, srcA, dstD, probe.Timeout)
			report(s, srcA, dstD, probe.Timeout)
		}, srcA, probe.Alive},
		// The first timeout, before B's, was blamed; no more.
		{"a destination down from every source kills neither", downEverywhere, srcA, probe.Suspect},
		{"... nor the other source", downEverywhere, srcB, probe.Alive},
		{"down from every source, a source with no working path yet is not killed", func(s *probe.Store) {
			report(s, srcB, "2001:db8:e::1", probe.Success)
			for range 2 {
				report(s, srcB, "2001:db9:9::9", probe.Timeout)
				report(s, srcA, "2001:db9:9::9", probe.Timeout)
			}
		}, srcA, probe.Unknown},
		{"blamed when it reaches nothing and another of its family does", func(s *probe.Store) {
			report(s, srcB, "2001:db9::1", probe.Success)
			report(s, srcA, dstD, probe.Timeout)
		}, srcA, probe.Suspect},
		{"an IPv4 source is no witness for IPv6", func(s *probe.Store) {
			report(s, src4, "198.51.100.1", probe.Success)
			report(s, srcA, dstD, probe.Timeout)
			report(s, srcA, dstD, probe.Timeout)
		}, srcA, probe.Unknown},
		{"canceled and other errors say nothing", func(s *probe.Store) {
			report(s, srcB, dstD, probe.Success)
			report(s, srcA, dstD, probe.Canceled)
			report(s, srcA, dstD, probe.OtherError)
		}, srcA, probe.Unknown},
		{"a dead witness does not count", func(s *probe.Store) {
			report(s, srcA, "2001:db8:e::1", probe.Success)
			down := twoUplinks
			down.down = []string{"eth0"}
			s.Observe(down.snap()) // A dead by the kernel, its success stays
			report(s, srcB, dstD, probe.Timeout)
		}, srcB, probe.Unknown},
		{"revived at once", func(s *probe.Store) {
			report(s, srcB, dstD, probe.Success)
			report(s, srcA, dstD, probe.Timeout)
			report(s, srcA, dstD, probe.Timeout)
			report(s, srcA, dstD, probe.Refused)
		}, srcA, probe.Alive},
		{"not blamed for another link's gateway", func(s *probe.Store) {
			report(s, srcA, "2001:db8:a::1", probe.Success)
			report(s, srcB, "2001:db8:a::1", probe.Timeout)
			report(s, srcB, "2001:db8:a::1", probe.Timeout)
		}, srcB, probe.Unknown},
		{"blamed for its own link's gateway", func(s *probe.Store) {
			report(s, "fe80::10%eth0", "fe80::1%eth0", probe.Success)
			report(s, "fe80::11%eth0", "fe80::1%eth0", probe.Unreachable)
		}, "fe80::11%eth0", probe.Suspect},
		{"reaching the gateway does not revive a source that failed beyond it", func(s *probe.Store) {
			report(s, srcB, dstD, probe.Success)
			report(s, srcA, dstD, probe.Timeout)
			report(s, srcA, dstD, probe.Timeout)
			report(s, srcA, "2001:db8:a::1", probe.Success)
		}, srcA, probe.Dead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := probe.NewStore()
				h := twoUplinks
				h.addrs = append(slices.Clip(h.addrs), "eth0 fe80::10/64", "eth0 fe80::11/64")
				s.Observe(h.snap())
				tt.steps(s)
				wantHealth(t, s, tt.src, tt.want)
			})
		})
	}
}

func TestDeadAfterOption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := probe.NewStore(probe.WithDeadAfter(3))
		s.Observe(twoUplinks.snap())
		report(s, srcB, dstD, probe.Success)
		for i, want := range []probe.Health{probe.Suspect, probe.Suspect, probe.Dead} {
			report(s, srcA, dstD, probe.Timeout)
			if got := s.Health(addr(srcA)); got != want {
				t.Fatalf("after %d failures: %v, want %v", i+1, got, want)
			}
		}
	})
}

// kill makes srcA dead at the current (fake) time.
func kill(s *probe.Store) {
	report(s, srcB, dstD, probe.Success)
	report(s, srcA, dstD, probe.Timeout)
	report(s, srcA, dstD, probe.Timeout)
}

func TestRecheckBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := probe.NewStore()
		s.Observe(twoUplinks.snap())
		kill(s)
		died := time.Now()
		var gaps []time.Duration
		last := died
		for range 9 {
			next, ok := s.NextRecheck()
			if !ok {
				t.Fatal("NextRecheck: none for a dead source")
			}
			time.Sleep(time.Until(next) - time.Millisecond)
			if due := s.Recheck(time.Now(), false); len(due) != 0 {
				t.Fatalf("Recheck before it is due: %v", due)
			}
			time.Sleep(time.Millisecond)
			due := s.Recheck(time.Now(), false)
			if !slices.Equal(due, []netip.Addr{addr(srcA)}) {
				t.Fatalf("Recheck = %v, want [%s]", due, srcA)
			}
			gaps = append(gaps, time.Since(last))
			last = time.Now()
		}
		want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
		for i := range want {
			want[i] *= time.Second
		}
		if !slices.Equal(gaps, want) {
			t.Errorf("re-check gaps = %v, want %v", gaps, want)
		}
		st := s.Status()
		for _, ss := range st.Sources {
			if ss.Addr == addr(srcA) && (ss.Health != probe.Dead || ss.Failures != 2 ||
				!ss.Since.Equal(died) || !ss.NextCheck.Equal(last.Add(60*time.Second))) {
				t.Errorf("Status of %s = %+v", srcA, ss)
			}
		}
		report(s, srcA, dstD, probe.Success)
		if _, ok := s.NextRecheck(); ok {
			t.Error("a revived source still has a re-check")
		}
		wantHealth(t, s, srcA, probe.Alive)
	})
}
