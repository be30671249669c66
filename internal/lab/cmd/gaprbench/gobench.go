package main

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BenchResult is one Go benchmark summed up over the runs of go test -count.
type BenchResult struct {
	// Pkg is the benchmark's package import path; Name its name without the
	// -GOMAXPROCS suffix ("BenchmarkDial/pairdialer").
	Pkg, Name string
	// Runs is how many result lines were read.
	Runs int
	// NsOp, BytesOp and AllocsOp are medians over the runs; a unit that was not
	// reported is zero.
	NsOp, BytesOp, AllocsOp float64
	// Metrics are the medians of the benchmark's own metrics (b.ReportMetric),
	// by unit, such as "ns/event".
	Metrics map[string]float64
	// Worst holds, for the own metrics that are a worst case already (a unit
	// with "min-" or "max-" in it) or a count of errors (ending in "errors"),
	// the worst over the runs: the least of a "min-" one, the greatest of the
	// others.
	Worst map[string]float64
	// Range holds, for each own metric, its least and greatest value over the
	// runs.
	Range map[string][2]float64
}

// parseGoBench reads the output of go test -bench (with -benchmem, any
// -count) and returns one result per benchmark, in the order of first
// appearance, with the median of each unit over the runs.
// goBenchTook returns how long the packages of `go test -bench` output took
// together: the sum of their "ok" lines' times.
func goBenchTook(r io.Reader) time.Duration {
	var took time.Duration
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "ok" {
			if d, err := time.ParseDuration(f[2]); err == nil {
				took += d
			}
		}
	}
	return took
}

func parseGoBench(r io.Reader) ([]BenchResult, error) {
	type runs struct {
		ns, b, allocs []float64
		metrics       map[string][]float64
	}
	var order []BenchResult
	seen := map[[2]string]*runs{}
	pkg := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimSpace(p)
			continue
		}
		name, units, ok := parseBenchLine(line)
		if !ok {
			continue
		}
		key := [2]string{pkg, name}
		rs := seen[key]
		if rs == nil {
			rs = &runs{}
			seen[key] = rs
			order = append(order, BenchResult{Pkg: pkg, Name: name})
		}
		for unit, v := range units {
			switch unit {
			case "ns/op":
				rs.ns = append(rs.ns, v)
			case "B/op":
				rs.b = append(rs.b, v)
			case "allocs/op":
				rs.allocs = append(rs.allocs, v)
			default:
				if rs.metrics == nil {
					rs.metrics = map[string][]float64{}
				}
				rs.metrics[unit] = append(rs.metrics[unit], v)
			}
		}
	}
	for i := range order {
		rs := seen[[2]string{order[i].Pkg, order[i].Name}]
		order[i].Runs = len(rs.ns)
		order[i].NsOp, order[i].BytesOp, order[i].AllocsOp = median(rs.ns), median(rs.b), median(rs.allocs)
		for unit, vs := range rs.metrics {
			if order[i].Metrics == nil {
				order[i].Metrics = map[string]float64{}
			}
			order[i].Metrics[unit] = median(vs)
			if order[i].Range == nil {
				order[i].Range = map[string][2]float64{}
			}
			order[i].Range[unit] = [2]float64{slices.Min(vs), slices.Max(vs)}
			if w, ok := worst(unit, vs); ok {
				if order[i].Worst == nil {
					order[i].Worst = map[string]float64{}
				}
				order[i].Worst[unit] = w
			}
		}
	}
	return order, sc.Err()
}

// worst returns the worst of vs for a unit that is a worst case ("min-" or
// "max-" in its name) or a count of errors.
func worst(unit string, vs []float64) (float64, bool) {
	switch {
	case strings.Contains(unit, "min-"):
		return slices.Min(vs), true
	case strings.Contains(unit, "max-") || strings.HasSuffix(unit, "errors"):
		return slices.Max(vs), true
	}
	return 0, false
}

// parseBenchLine parses one result line, "BenchmarkX-8  1000  123 ns/op  16
// B/op  1 allocs/op", into the name without its -GOMAXPROCS suffix and the
// value of each unit.
func parseBenchLine(line string) (name string, units map[string]float64, ok bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
		return "", nil, false
	}
	if _, err := strconv.ParseUint(f[1], 10, 64); err != nil {
		return "", nil, false
	}
	units = map[string]float64{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, false
		}
		units[f[i+1]] = v
	}
	return trimProcs(f[0]), units, true
}

// trimProcs removes the -GOMAXPROCS suffix that go test adds to a benchmark's
// name when GOMAXPROCS is not 1.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 || i == len(name)-1 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// findBench returns the result of benchmark name in the package whose import
// path ends in "/"+pkg.
func findBench(rs []BenchResult, pkg, name string) (BenchResult, bool) {
	for _, r := range rs {
		if r.Name == name && (r.Pkg == pkg || strings.HasSuffix(r.Pkg, "/"+pkg)) {
			return r, true
		}
	}
	return BenchResult{}, false
}
