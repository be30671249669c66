package probe_test

import (
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
	}
	for _, tt := range tests {
		ps := probe.PairStats{SRTT: tt.srtt, RTTVar: tt.rttvar, Samples: tt.samples}
		if got := ps.RTO(); got != tt.want {
			t.Errorf("%s: RTO() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
