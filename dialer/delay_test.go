package dialer

import (
	"testing"
	"time"

	"github.com/getapr/getapr/pairs"
)

func TestAttemptDelay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name       string
		configured time.Duration
		basis      pairs.Basis
		srtt, var_ time.Duration
		want       time.Duration
	}{
		{"default without measurement", 0, pairs.Assumed, 0, 0, 250 * ms},
		{"inherited latency does not adapt", 0, pairs.Inherited, 30 * ms, 5 * ms, 250 * ms},
		{"measured without a sample", 0, pairs.Measured, 0, 0, 250 * ms},
		{"measured: SRTT + 4 RTTVAR", 0, pairs.Measured, 200 * ms, 50 * ms, 400 * ms},
		{"measured: floor 100ms", 0, pairs.Measured, 10 * ms, 2 * ms, 100 * ms},
		{"measured: ceiling 2s", 0, pairs.Measured, 1800 * ms, 300 * ms, 2 * time.Second},
		{"configured wins over measurement", 300 * ms, pairs.Measured, 10 * ms, 2 * ms, 300 * ms},
		{"configured may go below 100ms", 40 * ms, pairs.Assumed, 0, 0, 40 * ms},
		{"configured floored at 10ms", 1, pairs.Assumed, 0, 0, 10 * ms},
		{"configured above 2s", 5 * time.Second, pairs.Assumed, 0, 0, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pairs.Pair{Basis: tt.basis, Latency: tt.srtt, RTTVar: tt.var_}
			if got := attemptDelay(tt.configured, p); got != tt.want {
				t.Errorf("attemptDelay(%v, %v %v±%v) = %v, want %v", tt.configured, tt.basis, tt.srtt, tt.var_, got, tt.want)
			}
		})
	}
}

func TestPartialDeadline(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sec := time.Second
	tests := []struct {
		name      string
		deadline  time.Time
		remaining int
		want      time.Time
		wantOK    bool
	}{
		{"no deadline", time.Time{}, 3, time.Time{}, true},
		{"equal share", now.Add(9 * sec), 3, now.Add(3 * sec), true},
		{"last one gets the rest", now.Add(9 * sec), 1, now.Add(9 * sec), true},
		{"share below 2s takes 2s", now.Add(5 * sec), 4, now.Add(2 * sec), true},
		{"less than 2s left takes all", now.Add(1500 * time.Millisecond), 4, now.Add(1500 * time.Millisecond), true},
		{"passed", now.Add(-sec), 2, time.Time{}, false},
		{"exactly now", now, 2, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := partialDeadline(now, tt.deadline, tt.remaining)
			if !got.Equal(tt.want) || ok != tt.wantOK {
				t.Errorf("partialDeadline(now, now%+v, %d) = now%+v, %v; want now%+v, %v",
					tt.deadline.Sub(now), tt.remaining, got.Sub(now), ok, tt.want.Sub(now), tt.wantOK)
			}
		})
	}
}
