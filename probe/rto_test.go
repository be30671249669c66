package probe_test

import (
	"math"
	"testing"
	"time"

	"github.com/getapr/getapr/probe"
)

func TestRTO(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name         string
		srtt, rttvar time.Duration
		samples      int
		want         time.Duration
	}{
		{"no sample", 0, 0, 0, time.Second},
		{"SRTT + 4 RTTVAR", 200 * ms, 50 * ms, 3, 400 * ms},
		{"floor", 10 * ms, 2 * ms, 3, 100 * ms},
		{"ceiling", 1800 * ms, 300 * ms, 3, 2 * time.Second},
		{"samples without an RTT", 0, 0, 2, time.Second},
		{"huge, no overflow", math.MaxInt64 / 2, math.MaxInt64 / 4, 3, 2 * time.Second},
		{"huge variation", 20 * ms, math.MaxInt64 / 3, 3, 2 * time.Second},
	}
	for _, tt := range tests {
		ps := probe.PairStats{SRTT: tt.srtt, RTTVar: tt.rttvar, Samples: tt.samples}
		if got := ps.RTO(); got != tt.want {
			t.Errorf("%s: RTO() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestReportHugeDuration checks that an absurd duration passed to Report is
// bounded: the pair's RTO is the ceiling, not the floor an overflow made it.
func TestReportHugeDuration(t *testing.T) {
	s := probe.NewStore()
	s.Report(outcome(srcA, dstD, probe.Success, math.MaxInt64/2, time.Now()))
	s.Report(outcome(srcA, dstD, probe.Success, math.MaxInt64/2, time.Now()))
	ps, ok := s.Pair(addr(srcA), addr(dstD))
	if !ok || ps.RTO() != probe.MaxRTO || ps.SRTT <= 0 || ps.RTTVar < 0 {
		t.Errorf("after huge samples: %+v (RTO %v), want a positive estimate with RTO %v", ps, ps.RTO(), probe.MaxRTO)
	}
}

// TestReportSuperseded checks what the Store makes of an attempt canceled
// unanswered because another one connected: a Timeout once it waited the
// pair's RTO (InitialRTO for a pair without a sample), nothing before.
func TestReportSuperseded(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		measured bool // the pair had a 20 ms sample: RTO 100 ms
		waited   time.Duration
		failures int // recorded against the pair afterwards
	}{
		{"unmeasured, under the initial RTO", false, 999 * ms, 0},
		{"unmeasured, past the initial RTO", false, time.Second, 1},
		{"measured, under its RTO", true, 99 * ms, 0},
		{"measured, past its RTO", true, 100 * ms, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := probe.NewStore()
			s.Observe(twoUplinks.snap())
			if tt.measured {
				s.Report(outcome(srcA, dstD, probe.Success, 20*ms, t0))
			}
			before := s.Version()
			s.Report(outcome(srcA, dstD, probe.Superseded, tt.waited, t0.Add(time.Second)))
			st, _ := s.Pair(addr(srcA), addr(dstD))
			if st.Failures != tt.failures {
				t.Errorf("%d failures recorded, want %d", st.Failures, tt.failures)
			}
			if changed := s.Version() != before; changed != (tt.failures > 0) {
				t.Errorf("Version changed: %v, want %v", changed, tt.failures > 0)
			}
		})
	}
}

// TestVersion checks that the Store's Version changes with what it learns and
// stays while nothing is learned.
func TestVersion(t *testing.T) {
	s := probe.NewStore()
	v0 := s.Version()
	s.Observe(twoUplinks.snap())
	v1 := s.Version()
	s.Report(outcome(srcA, dstD, probe.Canceled, time.Second, t0)) // says nothing
	s.Report(outcome("2001:db8:ffff::1", dstD, probe.Success, time.Second, t0))
	if s.Version() != v1 {
		t.Error("Version changed without anything learned")
	}
	s.Report(outcome(srcA, dstD, probe.Success, time.Millisecond, t0))
	v2 := s.Version()
	s.Report(outcome(srcA, dstD, probe.Middlebox, time.Millisecond, t0))
	v3 := s.Version()
	if v0 == v1 || v1 == v2 || v2 == v3 {
		t.Errorf("versions %d, %d, %d, %d: want a change at each step", v0, v1, v2, v3)
	}
}

// TestStateVersion checks which changes StateVersion counts: all that Version
// counts but an RTT sample that moves or makes a latency, from a source whose
// health it leaves as it was.
func TestStateVersion(t *testing.T) {
	s := probe.NewStore()
	s.Observe(twoUplinks.snap())
	step := func(what string, state bool, do func()) {
		t.Helper()
		v, st := s.Version(), s.StateVersion()
		do()
		if s.Version() == v {
			t.Errorf("%s: Version unchanged", what)
		}
		if changed := s.StateVersion() != st; changed != state {
			t.Errorf("%s: StateVersion changed %v, want %v", what, changed, state)
		}
	}
	step("a snapshot", true, func() { s.Observe(twoUplinks.snap()) })
	step("a source's first success (unknown to alive)", true, func() {
		s.Report(outcome(srcA, dstD, probe.Success, 20*time.Millisecond, t0))
	})
	step("another sample of that pair", false, func() {
		s.Report(outcome(srcA, dstD, probe.Success, 30*time.Millisecond, t0.Add(time.Second)))
	})
	step("a first sample of another pair of an alive source", false, func() {
		s.Report(outcome(srcA, "2001:db8:e::1", probe.Success, 25*time.Millisecond, t0.Add(2*time.Second)))
	})
	step("a failure", true, func() {
		s.Report(outcome(srcA, "2001:db8:e::1", probe.Timeout, time.Second, t0.Add(3*time.Second)))
	})
	step("a success over the pair that failed", true, func() {
		s.Report(outcome(srcA, "2001:db8:e::1", probe.Success, 25*time.Millisecond, t0.Add(5*time.Second)))
	})
	step("a middlebox verdict", true, func() {
		s.Report(outcome(srcA, dstD, probe.Middlebox, 25*time.Millisecond, t0.Add(6*time.Second)))
	})
}
