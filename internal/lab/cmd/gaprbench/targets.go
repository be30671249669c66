package main

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The targets that do not depend on the lab's RTTs.
const (
	idleTarget         = 1.0  // connects per probed path per 10 s
	dialRatioTarget    = 1.10 // PairDialer / net.Dialer, healthy loopback dial
	rank16Target       = 50 * time.Microsecond
	idleTargetFootnote = "per probed (source, destination) path, the unit the prototype probed every 10 s"
)

// verdict compares measured with an upper bound; unit renders a difference.
func verdict(measured, bound float64, unit func(float64) string) string {
	if measured <= bound {
		return "met"
	}
	return fmt.Sprintf("**missed** by %s (+%.0f%%)", unit(measured-bound), 100*(measured-bound)/bound)
}

func msUnit(v float64) string  { return fmt.Sprintf("%.1f ms", v) }
func usUnit(v float64) string  { return fmt.Sprintf("%.1f µs", v) }
func numUnit(v float64) string { return fmt.Sprintf("%.2f", v) }

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
	pd, ok1 := findBench(r.GoBench, "dialer", "BenchmarkDial/pairdialer")
	nd, ok2 := findBench(r.GoBench, "dialer", "BenchmarkDial/netdialer")
	if ok1 && ok2 && nd.NsOp > 0 {
		ratio := pd.NsOp / nd.NsOp
		bound := ""
		if nb, ok := findBench(r.GoBench, "dialer", "BenchmarkDial/netdialer-bound"); ok && nb.NsOp > 0 {
			bound = fmt.Sprintf("; %.2f× a net.Dialer that binds the source too", pd.NsOp/nb.NsOp)
		}
		fmt.Fprintf(b, "| healthy loopback dial, PairDialer / net.Dialer (ns/op) | %.2f× (%s / %s%s) | ≤ %.2f× | %s |\n",
			ratio, nsString(pd.NsOp), nsString(nd.NsOp), bound, dialRatioTarget, verdict(ratio, dialRatioTarget, numUnit))
	} else {
		b.WriteString("| healthy loopback dial, PairDialer / net.Dialer | not measured (no BenchmarkDial results) | ≤ 1.10× | |\n")
	}
	if rk, ok := findBench(r.GoBench, "pairs", "BenchmarkRank16x16"); ok {
		us := rk.NsOp / 1e3
		fmt.Fprintf(b, "| ranking 16 × 16 | %.1f µs | ≤ %.0f µs | %s |\n",
			us, float64(rank16Target/time.Microsecond), verdict(us, float64(rank16Target/time.Microsecond), usUnit))
	} else {
		b.WriteString("| ranking 16 × 16 | not measured (no BenchmarkRank16x16 result) | ≤ 50 µs | |\n")
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
		{"pairs", "BenchmarkRank16x16"}, {"pairs", "BenchmarkRank64x64"}, {"pairs", "BenchmarkGetWarm"},
		{"pairs", "BenchmarkStatus"}, {"dialer", "BenchmarkDial/pairdialer"}, {"dialer", "BenchmarkDial/netdialer"},
		{"dialer", "BenchmarkDial/netdialer-bound"},
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
