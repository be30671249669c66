package main

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"one", []float64{7}, 7},
		{"odd", []float64{5, 1, 3}, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"ties", []float64{2, 2, 9, 2}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.in); got != tc.want {
				t.Errorf("median(%v) = %v; want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestMedianDurationsDoesNotOverflow(t *testing.T) {
	big := time.Duration(1<<62 + 2)
	if got := median([]time.Duration{big, big + 2}); got != big+1 {
		t.Errorf("median = %d; want %d", got, big+1)
	}
}

func TestPercentile(t *testing.T) {
	twenty := make([]float64, 20)
	for i := range twenty {
		twenty[i] = float64(20 - i) // 20, 19, ..., 1
	}
	for _, tc := range []struct {
		name string
		in   []float64
		p    float64
		want float64
	}{
		{"empty", nil, 95, 0},
		{"one", []float64{4}, 95, 4},
		{"p95 of 20 is the 19th", twenty, 95, 19},
		{"p50 of 20 is the 10th", twenty, 50, 10},
		{"p100 is the largest", twenty, 100, 20},
		{"p0 is the smallest", twenty, 0, 1},
		{"p95 of 10 is the largest", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 95, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.in, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v; want %v", tc.in, tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name    string
		in      []Sample
		timeout time.Duration
		want    Summary
	}{
		{"all fine", []Sample{{D: 30 * ms}, {D: 10 * ms}, {D: 20 * ms}}, time.Second,
			Summary{N: 3, Median: 20 * ms, P95: 30 * ms}},
		{"a failure counts as the timeout", []Sample{{D: 10 * ms}, {D: 3 * ms, Failed: true}, {D: 20 * ms}}, time.Second,
			Summary{N: 3, Failed: 1, Median: 20 * ms, P95: time.Second}},
		{"all failed", []Sample{{Failed: true}, {Failed: true}}, 5 * time.Second,
			Summary{N: 2, Failed: 2, Median: 5 * time.Second, P95: 5 * time.Second}},
		{"none", nil, time.Second, Summary{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := summarize(tc.in, tc.timeout, 0); got != tc.want {
				t.Errorf("summarize = %+v; want %+v", got, tc.want)
			}
		})
	}
	if got := summarize([]Sample{{Failed: true}, {Failed: true}}, time.Second, 1); got.Parallel != 1 {
		t.Errorf("Parallel = %d; want 1", got.Parallel)
	}
}
