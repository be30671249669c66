package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/getapr/getapr/internal/soak"
	"github.com/getapr/getapr/pairs"
)

// recoveryWarm is the healthy dialing before each recovery scenario, so that the
// Selector has measured both uplinks' paths.
const recoveryWarm = 5 * time.Second

// A recoveryScenario is one row group of the "time back to the best path"
// table: a soak phase, run with a fresh Selector after recoveryWarm, and the
// rows it gives.
type recoveryScenario struct {
	phase soak.Phase
	eager bool // the Selector probes eagerly (WithEagerProbing)
	rows  []recoveryRowSpec
}

// recoveryRowSpec is one row: what it measures of a phase, and its target.
type recoveryRowSpec struct {
	name, target string
	bound        float64 // upper bound of the value
	unit         string  // "s" or "/min"
	value        func(p soak.PhaseResult) float64
}

// never is a recovery value for "never": stored so, since encoding/json
// refuses +Inf, and read as +Inf (see RecoveryRow.values).
const never = -1

// seconds returns a phase duration in seconds, never for never.
func seconds(d time.Duration) float64 {
	if d < 0 {
		return never
	}
	return d.Seconds()
}

// recoveryScenarios returns the scenarios of the table, in order.
func recoveryScenarios() []recoveryScenario {
	back := func(p soak.PhaseResult) float64 { return seconds(p.Back) }
	const obs = 15 * time.Second
	return []recoveryScenario{
		{phase: soak.CutFlushed(5*time.Second, obs), rows: []recoveryRowSpec{
			{"carrier back (neighbour caches flushed)", "≤ 2 s", 2, "s", back}}},
		{phase: soak.CutFailed(5*time.Second, obs), rows: []recoveryRowSpec{
			{"carrier back, the router's entry left FAILED", "≤ 2 s", 2, "s", back}}},
		{phase: soak.Blackhole(10*time.Second, obs), rows: []recoveryRowSpec{
			{"blackhole of 10 s ended", "≤ 11 s", 11, "s", back}}},
		{phase: soak.Blackhole(120*time.Second, obs), rows: []recoveryRowSpec{
			{"blackhole of 120 s ended", "≤ 11 s", 11, "s", back}}},
		{phase: soak.Slower(10*time.Second, obs), rows: []recoveryRowSpec{
			{"uplink 0 five times slower: on uplink 1", "≤ 2 s", 2, "s", func(p soak.PhaseResult) float64 { return seconds(p.ToBest) }},
			{"uplink 0 fast again: leads again", "≤ 11 s", 11, "s", back}}},
		{phase: soak.Move(10*time.Second, 5*time.Second), rows: []recoveryRowSpec{
			{"back on a known network (uplink 0 moved away for 10 s)", "first dial (≤ 0.25 s)", 0.25, "s", back}}},
		{phase: soak.Jitter(time.Minute), eager: true, rows: []recoveryRowSpec{
			{"±2 ms jitter, uplinks 5 ms apart: first-pair flips", "≤ 1 /min", 1, "/min", func(p soak.PhaseResult) float64 {
				return float64(p.Flips) / (p.Healed - p.Start).Minutes()
			}}}},
	}
}

// RecoveryResult is the "time back to the best path" table.
type RecoveryResult struct {
	Runs int
	Rows []RecoveryRow
}

// RecoveryRow is one row: the value of every run.
type RecoveryRow struct {
	Name, Target string
	Bound        float64
	Unit         string
	Values       []float64 // per run; never (-1): never
}

// Median and Worst of the row's values, +Inf for never.
func (r RecoveryRow) Median() float64 { return medianFloat(r.values()) }
func (r RecoveryRow) Worst() float64  { return slices.Max(r.values()) }

// values returns the row's values with never as +Inf, which sorts last.
func (r RecoveryRow) values() []float64 {
	v := slices.Clone(r.Values)
	for i := range v {
		if v[i] == never {
			v[i] = math.Inf(1)
		}
	}
	return v
}

func medianFloat(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s) == 0 {
		return math.NaN()
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// recovery runs every recovery scenario cfg.recoveryRuns times, each with a
// fresh Selector and PairDialer after recoveryWarm of healthy dials, the lab
// restored before each.
func (r *runner) recovery(ctx context.Context) (*RecoveryResult, error) {
	res := &RecoveryResult{Runs: r.cfg.recoveryRuns}
	scs := recoveryScenarios()
	for _, sc := range scs {
		for _, spec := range sc.rows {
			res.Rows = append(res.Rows, RecoveryRow{Name: spec.name, Target: spec.target, Bound: spec.bound, Unit: spec.unit})
		}
	}
	sr := &soak.Runner{Lab: r.l, Address: r.ds.addr, Timeout: r.cfg.timeout}
	for run := range r.cfg.recoveryRuns {
		row := 0
		for _, sc := range scs {
			p, err := r.recoveryRun(ctx, sr, sc)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sc.phase.Name, err)
			}
			fmt.Fprintf(r.log, "gaprbench: recovery run %d: %s\n", run+1, p)
			for _, spec := range sc.rows {
				res.Rows[row].Values = append(res.Rows[row].Values, spec.value(p))
				row++
			}
		}
	}
	return res, nil
}

// recoveryRun runs one scenario once and returns its phase's result.
func (r *runner) recoveryRun(ctx context.Context, sr *soak.Runner, sc recoveryScenario) (soak.PhaseResult, error) {
	if err := r.l.Restore(); err != nil {
		return soak.PhaseResult{}, err
	}
	var opts []pairs.Option
	if sc.eager {
		opts = append(opts, pairs.WithEagerProbing())
	}
	sel, err := r.ds.newSelector(opts...)
	if err != nil {
		return soak.PhaseResult{}, err
	}
	defer sel.Close()
	pd := r.ds.pairDialer(sel)
	res, err := sr.Run(ctx, "getapr", pd.DialContext, []soak.Phase{soak.Warm(recoveryWarm), sc.phase})
	if err != nil {
		return soak.PhaseResult{}, err
	}
	return res.Phases[1], nil
}

// writeRecovery writes the "time back to the best path" table.
func (r *Report) writeRecovery(b *strings.Builder) {
	rec := r.Recovery
	fmt.Fprintf(b, "One process dials the lab server's name every 250 ms with a PairDialer over a fresh Selector (quiet probing; eager for the jitter row) through a fault of uplink 0 (%s ms; uplink 1, %s ms, keeps working), %d runs each after %v of healthy dials; times from the end of the fault (the heal) to the first dial from which on every dial went over the best uplink. Median and worst of the runs:\n\n",
		ms(r.RTT[0]), ms(r.RTT[1]), rec.Runs, recoveryWarm)
	b.WriteString("| scenario | median | worst | target | verdict |\n|---|--:|--:|--:|---|\n")
	for _, row := range rec.Rows {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", row.Name, recValue(row.Median(), row.Unit), recValue(row.Worst(), row.Unit),
			row.Target, verdict(row.Median(), row.Bound, func(v float64) string { return recValue(v, row.Unit) }))
	}
}

// recValue renders a recovery value in its unit.
func recValue(v float64, unit string) string {
	switch {
	case math.IsInf(v, 1):
		return "never"
	case unit == "s":
		return fmt.Sprintf("%.2f s", v)
	case unit == "/min":
		return fmt.Sprintf("%.1f /min", v)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}
