package main

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The targets that do not depend on the lab's RTTs.
const (
	idleTarget         = 1.0  // connects per probed path per 10 s
	dialRatioTarget    = 1.10 // PairDialer / net.Dialer, healthy loopback dial
	dialAllocsTarget   = 8    // PairDialer's allocations beyond net.Dialer's
	parallelRateTarget = 0.90 // PairDialer / net.Dialer dials per second, every round
	parallelP99Target  = 1.2  // PairDialer / net.Dialer p99 of a dial, every round
	rank16Target       = 40 * time.Microsecond
	rankGrowthTarget   = 1.0 // time per pair, 64 × 64 over 16 × 16: no worse than linear
	idleTargetFootnote = "per probed (source, destination) path, the unit the prototype probed every 10 s"
)

// verdict compares measured with an upper bound; unit renders a difference.
func verdict(measured, bound float64, unit func(float64) string) string {
	if measured <= bound {
		return "met"
	}
	return missed(measured, bound, unit(measured-bound))
}

// atLeast is verdict for a lower bound.
func atLeast(measured, bound float64, unit func(float64) string) string {
	if measured >= bound {
		return "met"
	}
	return missed(measured, bound, unit(bound-measured))
}

// missed is the verdict of a missed bound, by diff, with the difference in
// percent of the bound where that means something (not for a bound of 0, nor
// for a value that is never reached).
func missed(measured, bound float64, diff string) string {
	switch {
	case math.IsInf(measured, 0):
		return "**missed** (never)"
	case bound == 0:
		return "**missed** by " + diff
	}
	pct, sign := 100*(measured-bound)/bound, "+"
	if pct < 0 {
		pct, sign = -pct, "-"
	}
	return fmt.Sprintf("**missed** by %s (%s%s%%)", diff, sign, figure(pct, 0, 0))
}

func msUnit(v float64) string  { return figure(v, 0, 1) + " ms" }
func usUnit(v float64) string  { return figure(v, 0, 1) + " µs" }
func numUnit(v float64) string { return figure(v, 0, 2) }

// figure renders v with prec decimals, or with more (up to 6) while it would
// read the same as bound, the number it is compared with: 0.8996 against a
// bound of 0.90 reads "0.8996", not "0.90", and a difference of 0.0004 reads
// "0.0004", not "0.00", so that no verdict contradicts the numbers beside it.
func figure(v, bound float64, prec int) string {
	for v != bound && prec < 6 && strconv.FormatFloat(v, 'f', prec, 64) == strconv.FormatFloat(bound, 'f', prec, 64) {
		prec++
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}

// writeTargets writes the table of targets, each as measured / target.
func (r *Report) writeTargets(b *strings.Builder) {
	b.WriteString("| target | measured | target | verdict |\n|---|--:|--:|---|\n")
	for _, s := range r.Scenarios {
		if !s.Targets {
			continue
		}
		for _, t := range []struct {
			what  string
			sum   Summary
			bound time.Duration
			rule  string
		}{
			{"cold", s.Results[methodPairCold], s.ColdTarget(), s.coldRule()},
			{"warm", s.Results[methodPairWarm], s.WarmTarget(), "1.1 × " + ms(s.Limit) + " ms"},
		} {
			fmt.Fprintf(b, "| %s, PairDialer %s (median; p95) | %s ms (%s) | ≤ %s ms (%s) | %s |\n",
				s.Name, t.what, ms(t.sum.Median), ms(t.sum.P95), ms(t.bound), t.rule,
				verdict(float64(t.sum.Median)/1e6, float64(t.bound)/1e6, msUnit))
		}
		if p := s.SamePair; p.N > 0 {
			fmt.Fprintf(b, "| %s, net.Dialer over the warm dials' pairs, each right after one (median; p95): the path itself | %s ms (%s) | | |\n",
				s.Name, ms(p.Median), ms(p.P95))
		}
	}
	r.writeIdleTarget(b)
	r.writeGoTargets(b)
}

func (r *Report) writeIdleTarget(b *strings.Builder) {
	for _, id := range []*IdleResult{r.IdleEager, r.Idle} {
		if id == nil {
			continue
		}
		w := id.worstPathRate()
		fmt.Fprintf(b, "| idle probing, %s, connects per path per 10 s (worst target, %v idle) | %.2f | ≤ %.0f | %s |\n",
			id.mode(), id.Duration.Round(time.Second), w, idleTarget, verdict(w, idleTarget, numUnit))
	}
	if r.Idle == nil && r.IdleEager == nil {
		b.WriteString("| idle probing, connects per path per 10 s | not measured | ≤ 1 | |\n")
	}
}

// mode names the Selector's probing.
func (r *IdleResult) mode() string {
	if r.Eager {
		return "eager (as the prototype)"
	}
	return "quiet (the default)"
}

func (r *Report) writeGoTargets(b *strings.Builder) {
	r.writeDialTargets(b)
	r.writeParallelTargets(b)
	r.writeRankTargets(b)
}

// writeDialTargets writes the healthy loopback dial's ratio, from the
// interleaved BenchmarkDialAB when there is one (else from BenchmarkDial's
// separate runs), and its allocations.
func (r *Report) writeDialTargets(b *strings.Builder) {
	pd, ok1 := findBench(r.GoBench, "dialer", "BenchmarkDial/pairdialer")
	nd, ok2 := findBench(r.GoBench, "dialer", "BenchmarkDial/netdialer")
	if ab, ok := findBench(r.GoBench, "dialer", "BenchmarkDialAB"); ok && ab.Metrics["x"] > 0 {
		x := ab.Metrics["x"]
		fmt.Fprintf(b, "| healthy loopback dial, PairDialer / net.Dialer (interleaved, BenchmarkDialAB; the median of the runs' ratios, beside the medians of their times) | %s× (%s / %s) | ≤ %.2f× | %s |\n",
			figure(x, dialRatioTarget, 2), nsString(ab.Metrics["pairdialer-ns/dial"]), nsString(ab.Metrics["netdialer-ns/dial"]), dialRatioTarget, verdict(x, dialRatioTarget, numUnit))
	} else if ok1 && ok2 && nd.NsOp > 0 {
		ratio := pd.NsOp / nd.NsOp
		bound := ""
		if nb, ok := findBench(r.GoBench, "dialer", "BenchmarkDial/netdialer-bound"); ok && nb.NsOp > 0 {
			bound = fmt.Sprintf("; %.2f× a net.Dialer that binds the source too", pd.NsOp/nb.NsOp)
		}
		fmt.Fprintf(b, "| healthy loopback dial, PairDialer / net.Dialer (ns/op) | %s× (%s / %s%s) | ≤ %.2f× | %s |\n",
			figure(ratio, dialRatioTarget, 2), nsString(pd.NsOp), nsString(nd.NsOp), bound, dialRatioTarget, verdict(ratio, dialRatioTarget, numUnit))
	} else {
		b.WriteString("| healthy loopback dial, PairDialer / net.Dialer | not measured (no BenchmarkDialAB or BenchmarkDial results) | ≤ 1.10× | |\n")
	}
	if ok1 && ok2 {
		fmt.Fprintf(b, "| healthy loopback dial, allocations beyond net.Dialer's | %+.0f (%.0f / %.0f) | ≤ +%d | %s |\n",
			pd.AllocsOp-nd.AllocsOp, pd.AllocsOp, nd.AllocsOp, dialAllocsTarget, verdict(pd.AllocsOp-nd.AllocsOp, dialAllocsTarget, numUnit))
	}
}

// writeParallelTargets writes BenchmarkParallel's worst rounds, for each
// PairDialer variant against net.Dialer: a run's worst round (the target: every
// round of a run), its median over the runs (as every target), and the worst
// over all runs beside it.
func (r *Report) writeParallelTargets(b *strings.Builder) {
	pb, ok := findBench(r.GoBench, "dialer", "BenchmarkParallel")
	if !ok {
		b.WriteString("| parallel, 64 goroutines: PairDialer / net.Dialer dials per second, worst round | not measured (no BenchmarkParallel result) | ≥ 0.90× | |\n")
		return
	}
	for _, v := range []struct{ name, what string }{{"pairdialer", "one shared Selector"}, {"pairdialer-own", "a Selector per goroutine"}} {
		x, p99, ok := pb.Metrics[v.name+"-min-x"], pb.Metrics[v.name+"-max-p99-x"], pb.Metrics[v.name+"-min-x"] > 0
		if !ok {
			continue
		}
		fmt.Fprintf(b, "| parallel, 64 goroutines, %s: dials per second / net.Dialer's in a run's worst round, median of %d runs (%.0f / %.0f dials/s; worst round of all runs %s×) | %s× | ≥ %.2f× | %s |\n",
			v.what, pb.Runs, pb.Metrics[v.name+"-dials/s"], pb.Metrics["netdialer-dials/s"], figure(pb.Worst[v.name+"-min-x"], parallelRateTarget, 2), figure(x, parallelRateTarget, 2), parallelRateTarget, atLeast(x, parallelRateTarget, numUnit))
		fmt.Fprintf(b, "| parallel, 64 goroutines, %s: p99 / net.Dialer's in a run's worst round, median of the runs (%s / %s; worst round of all runs %s×) | %s× | ≤ %.1f× | %s |\n",
			v.what, nsString(pb.Metrics[v.name+"-p99-ns/dial"]), nsString(pb.Metrics["netdialer-p99-ns/dial"]), figure(pb.Worst[v.name+"-max-p99-x"], parallelP99Target, 2), figure(p99, parallelP99Target, 2), parallelP99Target, verdict(p99, parallelP99Target, numUnit))
		errs, netErrs := pb.Worst[v.name+"-errors"], pb.Worst["netdialer-errors"]
		fmt.Fprintf(b, "| parallel, 64 goroutines, %s: dial errors, worst run | %.0f (net.Dialer %.0f) | none where net.Dialer has none | %s |\n",
			v.what, errs, netErrs, verdict(errs, netErrs, numUnit))
	}
	if x := pb.Metrics["netdialer-control-min-x"]; x > 0 {
		fmt.Fprintf(b, "| parallel, 64 goroutines, a second net.Dialer against the first (the noise floor): a run's worst round, median of the runs (worst of all runs): dials per second, p99 | %.2f× (%.2f×), %.2f× (%.2f×) | (none: a reference) | |\n",
			x, pb.Worst["netdialer-control-min-x"], pb.Metrics["netdialer-control-max-p99-x"], pb.Worst["netdialer-control-max-p99-x"])
	}
}

// writeRankTargets writes the ranking's time at 16 × 16 and its growth to 64 ×
// 64, per pair: from the interleaved BenchmarkRankGrowth when there is one,
// with the separate BenchmarkRank16x16 and BenchmarkRank64x64 beside it.
func (r *Report) writeRankTargets(b *strings.Builder) {
	bound := float64(rank16Target / time.Microsecond)
	rk, ok16 := findBench(r.GoBench, "pairs", "BenchmarkRank16x16")
	if ok16 {
		us := rk.NsOp / 1e3
		fmt.Fprintf(b, "| ranking 16 × 16 | %s µs | ≤ %.0f µs | %s |\n", figure(us, bound, 1), bound, verdict(us, bound, usUnit))
	} else {
		b.WriteString("| ranking 16 × 16 | not measured (no BenchmarkRank16x16 result) | ≤ 40 µs | |\n")
	}
	g, separate := 0.0, ""
	if rk64, ok := findBench(r.GoBench, "pairs", "BenchmarkRank64x64"); ok && ok16 && rk.NsOp > 0 {
		g = (rk64.NsOp / (64 * 64)) / (rk.NsOp / (16 * 16))
		separate = fmt.Sprintf("%s× (%s / %s per pair)", figure(g, rankGrowthTarget, 2), nsString(rk64.NsOp/(64*64)), nsString(rk.NsOp/(16*16)))
	}
	if gr, ok := findBench(r.GoBench, "pairs", "BenchmarkRankGrowth"); ok && gr.Metrics["x"] > 0 {
		x := gr.Metrics["x"]
		also := ""
		if separate != "" {
			also = "; the separate BenchmarkRank16x16 and BenchmarkRank64x64, run one after the other: " + separate
		}
		fmt.Fprintf(b, "| ranking 64 × 64: time per pair / 16 × 16's (interleaved, BenchmarkRankGrowth: the median of the runs' ratios, beside the medians of their times; runs from %.2f× to %.2f×%s) | %s× (%s / %s per pair) | ≤ %.1f× | %s |\n",
			gr.Range["x"][0], gr.Range["x"][1], also, figure(x, rankGrowthTarget, 2), nsString(gr.Metrics["64x64-ns/pair"]), nsString(gr.Metrics["16x16-ns/pair"]), rankGrowthTarget, verdict(x, rankGrowthTarget, numUnit))
	} else if separate != "" {
		fmt.Fprintf(b, "| ranking 64 × 64: time per pair / 16 × 16's (separate runs) | %s | ≤ %.1f× | %s |\n",
			separate, rankGrowthTarget, verdict(g, rankGrowthTarget, numUnit))
	}
}

func (r *Report) writeIdle(b *strings.Builder, id *IdleResult) {
	fmt.Fprintf(b, "A Selector with probing %s in the healthy lab, after one dial to the server, its first probe round (Init: the gateways too) and the server probed, left idle for %v; every probe connect counted by destination (%s).\n\n",
		id.mode(), id.Duration.Round(time.Second), idleTargetFootnote)
	b.WriteString("| destination | paths | connects | per minute | per path per 10 s |\n|---|--:|--:|--:|--:|\n")
	total := 0
	for _, t := range id.Targets {
		total += t.Connects
		perPath := 0.0
		if t.Paths > 0 {
			perPath = per10s(float64(t.Connects)/float64(t.Paths), id.Duration)
		}
		fmt.Fprintf(b, "| %s | %d | %d | %.1f | %.2f |\n", t.Dst, t.Paths, t.Connects,
			float64(t.Connects)/id.Duration.Minutes(), perPath)
	}
	fmt.Fprintf(b, "| all | | %d | %.1f | |\n", total, float64(total)/id.Duration.Minutes())
}

// keyBenchmarks are the Go benchmarks the issue asks for: package and name.
func keyBenchmarks() [][2]string {
	return [][2]string{
		{"pairs", "BenchmarkRank16x16"}, {"pairs", "BenchmarkRank32x32"}, {"pairs", "BenchmarkRank64x64"}, {"pairs", "BenchmarkRankGrowth"},
		{"pairs", "BenchmarkGetWarm"}, {"pairs", "BenchmarkAttemptsWarm"}, {"pairs", "BenchmarkStatus"},
		{"dialer", "BenchmarkDialAB"}, {"dialer", "BenchmarkDial/pairdialer"}, {"dialer", "BenchmarkDial/netdialer"},
		{"dialer", "BenchmarkDial/netdialer-netip"}, {"dialer", "BenchmarkDial/netdialer-bound"},
		{"dialer", "BenchmarkParallel"},
	}
}

func (r *Report) writeGoBench(b *strings.Builder) {
	fmt.Fprintf(b, "From `%s` (written %s): medians over the runs of `go test -p 1 -bench . -benchmem -count N` (one package at a time). The ones the issue asks for first, then the rest.\n\n",
		filepath.Base(r.GoBenchFile), r.GoBenchTime.UTC().Format("2006-01-02 15:04 UTC"))
	b.WriteString("| package | benchmark | runs | time/op | B/op | allocs/op | own metrics |\n|---|---|--:|--:|--:|--:|---|\n")
	done := map[[2]string]bool{}
	row := func(x BenchResult) {
		done[[2]string{x.Pkg, x.Name}] = true
		fmt.Fprintf(b, "| %s | %s | %d | %s | %.0f | %.0f | %s |\n", shortPkg(x.Pkg), x.Name, x.Runs, nsString(x.NsOp), x.BytesOp, x.AllocsOp, metricsString(x.Metrics))
	}
	for _, k := range keyBenchmarks() {
		if x, ok := findBench(r.GoBench, k[0], k[1]); ok {
			row(x)
		}
	}
	for _, x := range r.GoBench {
		if !done[[2]string{x.Pkg, x.Name}] {
			row(x)
		}
	}
}

// shortPkg strips the module path from a package path.
func shortPkg(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, "github.com/getapr/getapr"), "/")
}

// nsString renders a time per operation in ns, µs or ms.
// metricsString formats a benchmark's own metrics, in unit order: a unit
// "[LABEL-]ns/X" as a time per X ("5.85 ms/event", "max 6.15 ms/event"), any other
// as value and unit.
func metricsString(m map[string]float64) string {
	var parts []string
	for _, unit := range slices.Sorted(maps.Keys(m)) {
		if label, per, ok := strings.Cut(unit, "ns/"); ok && (label == "" || strings.HasSuffix(label, "-")) {
			if label != "" {
				label = strings.TrimSuffix(label, "-") + " "
			}
			parts = append(parts, label+nsString(m[unit])+"/"+per)
			continue
		}
		parts = append(parts, fmt.Sprintf("%.3g %s", m[unit], unit))
	}
	return strings.Join(parts, ", ")
}

func nsString(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.1f µs", ns/1e3)
	case ns >= 100:
		return fmt.Sprintf("%.0f ns", ns)
	}
	return fmt.Sprintf("%.1f ns", ns)
}
