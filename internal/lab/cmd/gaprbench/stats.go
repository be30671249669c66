package main

import (
	"math"
	"slices"
	"time"
)

// A Sample is the outcome of one dial: how long it took to connect, or that it
// failed.
type Sample struct {
	D      time.Duration
	Failed bool
}

// Summary sums up the dials of one method in one scenario.
type Summary struct {
	// N is the number of dials; zero means the method was not measured.
	N int
	// Failed is how many of them failed.
	Failed int
	// Median and P95 are over every dial, a failed one counting as the timeout.
	Median, P95 time.Duration
	// Parallel is how many of the dials ran at once, in parallel (zero: all ran
	// one after the other).
	Parallel int
}

// summarize sums samples up; a failed sample counts as timeout.
func summarize(samples []Sample, timeout time.Duration, parallel int) Summary {
	ds := make([]time.Duration, len(samples))
	s := Summary{N: len(samples), Parallel: parallel}
	for i, x := range samples {
		ds[i] = x.D
		if x.Failed {
			ds[i] = timeout
			s.Failed++
		}
	}
	s.Median = median(ds)
	s.P95 = percentile(ds, 95)
	return s
}

// median returns the middle of xs, the mean of the two middle values when
// their number is even, or zero when xs is empty. xs is not modified.
func median[T ~int64 | ~float64](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return s[n/2-1] + (s[n/2]-s[n/2-1])/2
}

// percentile returns the p-th percentile of xs by the nearest-rank method (the
// smallest value with at least p percent of the values at or below it), or zero
// when xs is empty. xs is not modified.
func percentile[T ~int64 | ~float64](xs []T, p float64) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}
