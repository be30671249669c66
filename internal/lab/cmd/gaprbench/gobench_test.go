package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseGoBench(t *testing.T) {
	rs := testGoBench(t)
	want := []BenchResult{
		{Pkg: "github.com/getapr/getapr/dialer", Name: "BenchmarkDial/pairdialer", Runs: 3, NsOp: 52000, BytesOp: 2100, AllocsOp: 31},
		{Pkg: "github.com/getapr/getapr/dialer", Name: "BenchmarkDial/netdialer", Runs: 3, NsOp: 44000, BytesOp: 600, AllocsOp: 12},
		{Pkg: "github.com/getapr/getapr/dialer", Name: "BenchmarkDial/netdialer-bound", Runs: 1, NsOp: 48000, BytesOp: 650, AllocsOp: 13},
		{Pkg: "github.com/getapr/getapr/dialer", Name: "BenchmarkDialAB", Runs: 2, NsOp: 120500, BytesOp: 1300, AllocsOp: 40,
			Metrics: map[string]float64{"netdialer-ns/dial": 50500, "pairdialer-ns/dial": 54250, "x": 1.0745}},
		{Pkg: "github.com/getapr/getapr/dialer", Name: "BenchmarkParallel", Runs: 2, NsOp: 7650000000, BytesOp: 100000, AllocsOp: 900,
			Metrics: map[string]float64{"netdialer-dials/s": 14100, "netdialer-errors": 0, "netdialer-p99-ns/dial": 26500000,
				"pairdialer-dials/s": 13550, "pairdialer-errors": 0, "pairdialer-max-p99-x": 1.085, "pairdialer-min-x": 0.92,
				"pairdialer-own-dials/s": 13900, "pairdialer-own-errors": 0, "pairdialer-own-max-p99-x": 1.1, "pairdialer-own-min-x": 0.915,
				"pairdialer-own-p99-ns/dial": 27500000, "pairdialer-p99-ns/dial": 28000000},
			Worst: map[string]float64{"pairdialer-max-p99-x": 1.12, "pairdialer-min-x": 0.91, "pairdialer-own-max-p99-x": 1.15, "pairdialer-own-min-x": 0.88,
				"netdialer-errors": 0, "pairdialer-errors": 0, "pairdialer-own-errors": 0}},
		{Pkg: "github.com/getapr/getapr/pairs", Name: "BenchmarkRank16x16", Runs: 3, NsOp: 91000.5, BytesOp: 74032, AllocsOp: 17},
		{Pkg: "github.com/getapr/getapr/pairs", Name: "BenchmarkRank64x64", Runs: 3, NsOp: 1450000, BytesOp: 1200000, AllocsOp: 19},
		{Pkg: "github.com/getapr/getapr/pairs", Name: "BenchmarkRankGrowth", Runs: 3, NsOp: 2920000, BytesOp: 1900000, AllocsOp: 36,
			Metrics: map[string]float64{"16x16-ns/pair": 178, "64x64-ns/pair": 176, "x": 0.9888}},
		{Pkg: "github.com/getapr/getapr/pairs", Name: "BenchmarkGetWarm", Runs: 3, NsOp: 1927, BytesOp: 840, AllocsOp: 17},
		{Pkg: "github.com/getapr/getapr/pairs", Name: "BenchmarkStatus", Runs: 3, NsOp: 650, BytesOp: 480, AllocsOp: 1},
		{Pkg: "github.com/getapr/getapr/probe", Name: "BenchmarkStatus", Runs: 1, NsOp: 498.3, BytesOp: 384, AllocsOp: 1},
		{Pkg: "github.com/getapr/getapr/netstate", Name: "BenchmarkEventLatency", Runs: 2, NsOp: 66450000, BytesOp: 89000, AllocsOp: 722,
			Metrics: map[string]float64{"ns/event": 5850000, "max-ns/event": 6150000}, Worst: map[string]float64{"max-ns/event": 6200000}},
	}
	if len(rs) != len(want) {
		t.Fatalf("got %d results, want %d:\n%+v", len(rs), len(want), rs)
	}
	if r, _ := findBench(rs, "pairs", "BenchmarkRankGrowth"); r.Range["x"] != [2]float64{0.9556, 1.029} || r.Range["64x64-ns/pair"] != [2]float64{172, 180} {
		t.Errorf("BenchmarkRankGrowth's Range = %v; want x from 0.9556 to 1.029, 64x64-ns/pair from 172 to 180", r.Range)
	}
	for i := range want {
		rs[i].Range = nil // every metric has one; BenchmarkRankGrowth's are checked above
		if !reflect.DeepEqual(rs[i], want[i]) {
			t.Errorf("result %d = %+v; want %+v", i, rs[i], want[i])
		}
	}
	if r, ok := findBench(rs, "probe", "BenchmarkStatus"); !ok || r.NsOp != 498.3 {
		t.Errorf(`findBench(probe, BenchmarkStatus) = %+v, %v; want the probe package's`, r, ok)
	}
	if _, ok := findBench(rs, "robe", "BenchmarkStatus"); ok {
		t.Error(`findBench matched "robe" against .../probe`)
	}
}

// testGoBench parses testdata/bench-go.txt.
func testGoBench(t *testing.T) []BenchResult {
	t.Helper()
	f, err := os.Open("testdata/bench-go.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rs, err := parseGoBench(f)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestParseBenchLine(t *testing.T) {
	for _, tc := range []struct {
		line  string
		name  string
		units map[string]float64
	}{
		{"BenchmarkX-8   100   12.5 ns/op", "BenchmarkX", map[string]float64{"ns/op": 12.5}},
		{"BenchmarkX/sub-case-16 5 3 ns/op 0 B/op 0 allocs/op", "BenchmarkX/sub-case",
			map[string]float64{"ns/op": 3, "B/op": 0, "allocs/op": 0}},
		{"BenchmarkX 5 3 ns/op", "BenchmarkX", map[string]float64{"ns/op": 3}}, // GOMAXPROCS=1: no suffix
		{"BenchmarkX-2 --- FAIL", "", nil},
		{"BenchmarkX-2 many 3 ns/op", "", nil},
		{"BenchmarkX-2 5 fast ns/op", "", nil},
		{"ok  \tgithub.com/x\t1.0s", "", nil},
		{"", "", nil},
	} {
		t.Run(tc.line, func(t *testing.T) {
			name, units, ok := parseBenchLine(tc.line)
			if ok != (tc.units != nil) || name != tc.name {
				t.Fatalf("parseBenchLine = %q, %v, %v; want %q, %v", name, units, ok, tc.name, tc.units)
			}
			for u, v := range tc.units {
				if units[u] != v {
					t.Errorf("%s = %v; want %v", u, units[u], v)
				}
			}
			if len(units) != len(tc.units) {
				t.Errorf("units %v; want %v", units, tc.units)
			}
		})
	}
}

func TestParseGoBenchEmpty(t *testing.T) {
	rs, err := parseGoBench(strings.NewReader("PASS\nok x 0.1s\n"))
	if err != nil || len(rs) != 0 {
		t.Errorf("parseGoBench = %v, %v; want nothing", rs, err)
	}
}
