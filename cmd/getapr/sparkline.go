package main

import (
	"math"
	"time"
)

// sparkLevels are a sparkline's eight levels, lowest first.
const sparkLevels = "▁▂▃▄▅▆▇█"

// sparkLen is how many of a pair's latest latencies watch draws.
const sparkLen = 8

// sparkline draws vs, oldest first, one block character each: the least value
// at the lowest level, the greatest at the highest. The scale spans at least
// half the least value (and 1 ms), so that a steady path with a little jitter
// stays low and flat, while a path that gets slower climbs.
func sparkline(vs []time.Duration) string {
	if len(vs) == 0 {
		return ""
	}
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	span := max(hi-lo, lo/2, time.Millisecond)
	levels := []rune(sparkLevels)
	out := make([]rune, len(vs))
	for i, v := range vs {
		out[i] = levels[int(math.Round(float64(v-lo)/float64(span)*float64(len(levels)-1)))]
	}
	return string(out)
}

// latencyHistory keeps, per pair, the latest latencies watch saw, each
// different from the one before as watch shows them (to 0.1 ms): a new
// smoothed RTT is a new sample folded in, and a change too small to show adds
// nothing, so that the sparkline changes only on a line watch prints anyway.
type latencyHistory map[string][]time.Duration

// sparkStep is the resolution of watch's latencies.
const sparkStep = 100 * time.Microsecond

// add records d, to sparkStep, for key when that differs from the last one
// recorded, and returns the sparkline of key's latest sparkLen.
func (h latencyHistory) add(key string, d time.Duration) string {
	d = d.Round(sparkStep)
	vs := h[key]
	if len(vs) == 0 || vs[len(vs)-1] != d {
		vs = append(vs, d)
		if len(vs) > sparkLen {
			vs = append(vs[:0], vs[len(vs)-sparkLen:]...)
		}
		h[key] = vs
	}
	return sparkline(vs)
}

// keep forgets every key that is not in keys.
func (h latencyHistory) keep(keys map[string]bool) {
	for k := range h {
		if !keys[k] {
			delete(h, k)
		}
	}
}
