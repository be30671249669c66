package main

import (
	"testing"
	"time"
)

func TestSparkline(t *testing.T) {
	ms := func(vs ...float64) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v * float64(time.Millisecond))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want string
	}{
		{"none", nil, ""},
		{"one", ms(20), "▁"},
		{"steady with jitter stays low", ms(20, 21, 20.5, 22, 20), "▁▂▁▂▁"},
		{"five times slower climbs", ms(20, 20, 100), "▁▁█"},
		{"every level", ms(10, 20, 30, 40, 50, 60, 70, 80), "▁▂▃▄▅▆▇█"},
		{"faster again", ms(100, 100, 20), "██▁"},
		{"sub-millisecond differences on loopback", ms(0.1, 0.2, 0.3), "▁▂▂"},
	} {
		if got := sparkline(tc.in); got != tc.want {
			t.Errorf("%s: sparkline(%v) = %q; want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestLatencyHistory(t *testing.T) {
	h := latencyHistory{}
	ms := time.Millisecond
	if got := h.add("a", 20*ms); got != "▁" {
		t.Errorf("first = %q", got)
	}
	if got := h.add("a", 20*ms); got != "▁" {
		t.Errorf("the same latency again = %q; want it recorded once", got)
	}
	if got := h.add("a", 20*ms+40*time.Microsecond); got != "▁" {
		t.Errorf("a latency 0.04 ms apart = %q; want it not recorded (watch shows 0.1 ms)", got)
	}
	for i := range 10 {
		h.add("a", time.Duration(30+i)*ms)
	}
	if n := len(h["a"]); n != sparkLen {
		t.Errorf("%d latencies kept, want %d", n, sparkLen)
	}
	if h["a"][sparkLen-1] != 39*ms || h["a"][0] != 32*ms {
		t.Errorf("kept %v; want the latest %d, 32ms to 39ms", h["a"], sparkLen)
	}
	h.add("b", ms)
	h.keep(map[string]bool{"b": true})
	if _, ok := h["a"]; ok || len(h["b"]) != 1 {
		t.Errorf("after keep(b): %v", h)
	}
}
