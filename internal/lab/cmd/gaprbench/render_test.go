package main

import (
	"flag"
	"fmt"
	"math"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff lists the lines that differ between want and got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// testReport is a fixed report: one scenario of each kind of cell.
func testReport(t *testing.T) *Report {
	t.Helper()
	ms := time.Millisecond
	return &Report{
		Machine:   Machine{Kernel: "6.18.1", CPU: "AMD EPYC", Cores: 2},
		Date:      time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC),
		Command:   "gaprbench -out BENCHMARKS.md -readme README.md",
		GoVersion: "go1.26.8",
		Curl:      "curl 7.88.1",
		RTT:       [2]time.Duration{20 * ms, 60 * ms},
		Timeout:   5 * time.Second,
		Dials:     20,
		ColdNew:   3 * ms,
		Scenarios: []ScenarioResult{
			{Name: "healthy", Setup: "nothing broken.", Limit: 20 * ms, Learned: 1500 * ms,
				Results: [numMethods]Summary{
					{N: 20, Median: 21 * ms, P95: 23 * ms},
					{N: 20, Median: 22 * ms, P95: 25 * ms},
					{N: 20, Median: 21500 * time.Microsecond, P95: 24 * ms},
					{N: 20, Median: 20800 * time.Microsecond, P95: 22 * ms},
				}},
			{Name: "uplink 0 blackholed", Setup: "ISP A drops everything.", Limit: 60 * ms, Learned: 12 * time.Second, Targets: true,
				Results: [numMethods]Summary{
					{N: 20, Failed: 20, Median: 5 * time.Second, P95: 5 * time.Second, Parallel: 19},
					{N: 20, Failed: 19, Median: 5 * time.Second, P95: 5 * time.Second, Parallel: 19},
					{N: 20, Median: 315 * ms, P95: 340 * ms},
					{N: 20, Median: 70 * ms, P95: 75 * ms},
				}},
			{Name: "TLS, middlebox", Setup: "ISP A answers TCP, not TLS.", Limit: 120 * ms, Learned: 130 * ms, Targets: true, TLS: true,
				Results: [numMethods]Summary{
					{N: 20, Failed: 20, Median: 5 * time.Second, P95: 5 * time.Second, Parallel: 19},
					{N: 20, Failed: 20, Median: 5 * time.Second, P95: 5 * time.Second, Parallel: 19},
					{N: 20, Median: 245 * ms, P95: 250 * ms},
					{N: 20, Median: 123 * ms, P95: 126 * ms},
				}},
			{Name: "no curl", Setup: "curl missing.", Limit: 60 * ms, Learned: -1,
				Results: [numMethods]Summary{{N: 20, Median: 61 * ms, P95: 62 * ms}, {}, {N: 20, Median: 61 * ms, P95: 62 * ms}, {N: 20, Median: 61 * ms, P95: 62 * ms}}},
		},
		Idle: &IdleResult{Duration: time.Minute, Targets: []IdleTarget{
			{Dst: netip.MustParseAddrPort("[2001:db8:5::10]:80"), Paths: 2, Connects: 2},
			{Dst: netip.MustParseAddrPort("192.0.2.10:80"), Paths: 1, Connects: 1},
		}},
		IdleEager: &IdleResult{Eager: true, Duration: time.Minute, Targets: []IdleTarget{
			{Dst: netip.MustParseAddrPort("[2001:db8:5::10]:80"), Paths: 3, Connects: 18},
			{Dst: netip.MustParseAddrPort("192.0.2.10:80"), Paths: 2, Connects: 14},
		}},
		Recovery: &RecoveryResult{Runs: 3, Rows: []RecoveryRow{
			{Name: "carrier back (neighbour caches flushed)", Target: "≤ 2 s", Bound: 2, Unit: "s", Values: []float64{0.24, 0.31, 0.2}},
			{Name: "blackhole of 120 s ended", Target: "≤ 11 s", Bound: 11, Unit: "s", Values: []float64{9.5, math.Inf(1), 10.1}},
			{Name: "±2 ms jitter, uplinks 5 ms apart: first-pair flips", Target: "≤ 1 /min", Bound: 1, Unit: "/min", Values: []float64{0, 2, 0}},
		}},
		GoBench:     testGoBench(t),
		GoBenchFile: "/work/bench-go.txt",
		GoBenchTime: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
	}
}

func TestMarkdown(t *testing.T) {
	golden(t, "report.golden.md", testReport(t).Markdown())
}

func TestRegion(t *testing.T) {
	golden(t, "region.golden.md", testReport(t).Region())
}

func TestMarkdownWithoutOptionalParts(t *testing.T) {
	r := testReport(t)
	r.Idle, r.IdleEager, r.Recovery, r.GoBench = nil, nil, nil, nil
	got := r.Markdown()
	for _, want := range []string{"| idle probing, connects per path per 10 s | not measured", "ranking 16 × 16 | not measured"} {
		if !strings.Contains(got, want) {
			t.Errorf("report without idle and Go benchmarks lacks %q", want)
		}
	}
	for _, not := range []string{"## Idle probe traffic", "## Go micro-benchmarks", "## Time back to the best path"} {
		if strings.Contains(got, not) {
			t.Errorf("report without idle and Go benchmarks has %q", not)
		}
	}
}

func TestCell(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		in   Summary
		want string
	}{
		{Summary{}, "n/a"},
		{Summary{N: 20, Median: 21340 * time.Microsecond, P95: 30 * ms}, "21.3 / 30.0"},
		{Summary{N: 20, Failed: 3, Median: 21 * ms, P95: 5 * time.Second}, "21.0 / 5000.0, 3/20 failed"},
		{Summary{N: 20, Failed: 20, Median: 5 * time.Second, P95: 5 * time.Second, Parallel: 19}, "5000.0 / 5000.0, 20/20 failed ‖"},
	} {
		if got := cell(tc.in); got != tc.want {
			t.Errorf("cell(%+v) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		measured, bound float64
		want            string
	}{
		{10, 10, "met"},
		{9.5, 10, "met"},
		{12, 10, "**missed** by 2.0 ms (+20%)"},
	} {
		if got := verdict(tc.measured, tc.bound, msUnit); got != tc.want {
			t.Errorf("verdict(%v, %v) = %q; want %q", tc.measured, tc.bound, got, tc.want)
		}
	}
}

func TestNsString(t *testing.T) {
	for ns, want := range map[float64]string{1.24: "1.2 ns", 650: "650 ns", 91000.5: "91.0 µs", 1450000: "1.45 ms"} {
		if got := nsString(ns); got != want {
			t.Errorf("nsString(%v) = %q; want %q", ns, got, want)
		}
	}
}
