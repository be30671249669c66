package main

import (
	"encoding/json"
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
				},
				SamePair: Summary{N: 20, Median: 66 * ms, P95: 74 * ms}},
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
			{Name: "blackhole of 120 s ended", Target: "≤ 11 s", Bound: 11, Unit: "s", Values: []float64{9.5, never, 10.1}},
			{Name: "±2 ms jitter, uplinks 5 ms apart: first-pair flips", Target: "≤ 1 /min", Bound: 1, Unit: "/min", Values: []float64{0, 2, 0}},
		}},
		GoBench:     testGoBench(t),
		GoBenchFile: "/work/bench-go.txt",
		GoBenchTime: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		GoBenchTook: 24*time.Minute + 10*time.Second,
		LabTook:     27 * time.Minute,
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
	for i := range r.Scenarios {
		r.Scenarios[i].SamePair = Summary{}
	}
	got = r.Markdown()
	for _, not := range []string{"## Idle probe traffic", "## Go micro-benchmarks", "## Time back to the best path", "net.Dialer over the"} {
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
		{10.0004, 10, "**missed** by 0.0004 ms (+0.004%)"},
		{3, 0, "**missed** by 3.0 ms"}, // errors where the reference has none: no percentage of 0
		{math.Inf(1), 2, "**missed** (never)"},
	} {
		if got := verdict(tc.measured, tc.bound, msUnit); got != tc.want {
			t.Errorf("verdict(%v, %v) = %q; want %q", tc.measured, tc.bound, got, tc.want)
		}
	}
	if got, want := atLeast(0.8996, 0.90, numUnit), "**missed** by 0.0004 (-0.04%)"; got != want {
		t.Errorf("atLeast(0.8996, 0.90) = %q; want %q", got, want)
	}
}

// TestFigure: a number printed beside a verdict never reads as its bound
// unless it is the bound.
func TestFigure(t *testing.T) {
	for _, tc := range []struct {
		v, bound float64
		prec     int
		want     string
	}{
		{0.905, 0.90, 2, "0.91"}, // rounds away from the bound: as it is
		{0.8996, 0.90, 2, "0.8996"},
		{0.89996, 0.90, 2, "0.89996"},
		{1.2004, 1.2, 2, "1.2004"},
		{0.9, 0.9, 2, "0.90"},
		{1.08, 1.1, 2, "1.08"},
		{40.04, 40, 1, "40.04"},
	} {
		if got := figure(tc.v, tc.bound, tc.prec); got != tc.want {
			t.Errorf("figure(%v, %v, %d) = %q; want %q", tc.v, tc.bound, tc.prec, got, tc.want)
		}
	}
}

// TestRecoveryNeverThroughJSON: a recovery run that never got back to the best
// path survives the JSON of the child's result and of bench-lab.json (which
// refuse +Inf), and still reads "never".
func TestRecoveryNeverThroughJSON(t *testing.T) {
	rec := &RecoveryResult{Runs: 3, Rows: []RecoveryRow{
		{Name: "blackhole of 120 s ended", Target: "≤ 11 s", Bound: 11, Unit: "s", Values: []float64{9.5, seconds(-1), seconds(-1)}},
	}}
	data, err := json.Marshal(&Report{Recovery: rec})
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	row := back.Recovery.Rows[0]
	if !math.IsInf(row.Median(), 1) || !math.IsInf(row.Worst(), 1) {
		t.Errorf("median %v, worst %v; want never (+Inf) for both", row.Median(), row.Worst())
	}
	var b strings.Builder
	back.writeRecovery(&b)
	if !strings.Contains(b.String(), "| never | never | ≤ 11 s | **missed** (never) |") {
		t.Errorf("recovery table:\n%s", b.String())
	}
}

// TestRankGrowthWithoutRank16: the interleaved growth row does not need the
// separate 16 × 16 benchmark.
func TestRankGrowthWithoutRank16(t *testing.T) {
	r := &Report{GoBench: []BenchResult{{Pkg: "github.com/getapr/getapr/pairs", Name: "BenchmarkRankGrowth", Runs: 3, NsOp: 1,
		Metrics: map[string]float64{"x": 1.3, "16x16-ns/pair": 200, "64x64-ns/pair": 260},
		Range:   map[string][2]float64{"x": {1.1, 1.5}}}}}
	var b strings.Builder
	r.writeRankTargets(&b)
	if !strings.Contains(b.String(), "| 1.30× (260 ns / 200 ns per pair) | ≤ 1.0× | **missed** by 0.30 (+30%) |") {
		t.Errorf("rank targets without BenchmarkRank16x16:\n%s", b.String())
	}
}

// TestGoBenchTook: the time the Go benchmarks took is the sum of the
// packages' "ok" lines, and the README region says it only when known.
func TestGoBenchTook(t *testing.T) {
	in := "pkg: a\nBenchmarkX-2 10 5 ns/op\nPASS\nok  \tgithub.com/getapr/getapr/dialer\t600.5s\nok  \tgithub.com/getapr/getapr/pairs\t59.5s\n? \tx\t[no test files]\n"
	if got := goBenchTook(strings.NewReader(in)); got != 11*time.Minute {
		t.Errorf("goBenchTook = %v; want 11m0s", got)
	}
	r := &Report{GoBench: []BenchResult{{Runs: 3}}}
	if got := r.took(); got != "" {
		t.Errorf("took, nothing timed: %q", got)
	}
	r.GoBenchTook, r.LabTook = 11*time.Minute, 26*time.Minute+40*time.Second
	if got, want := r.took(), "; here the Go benchmarks took 11 min at -count 3, the lab run 27 min"; got != want {
		t.Errorf("took = %q; want %q", got, want)
	}
}

func TestNsString(t *testing.T) {
	for ns, want := range map[float64]string{1.24: "1.2 ns", 650: "650 ns", 91000.5: "91.0 µs", 1450000: "1.45 ms"} {
		if got := nsString(ns); got != want {
			t.Errorf("nsString(%v) = %q; want %q", ns, got, want)
		}
	}
}
