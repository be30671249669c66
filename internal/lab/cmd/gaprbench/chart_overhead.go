package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// An overheadPanel is one group of bars of the overhead chart, all in one
// unit.
type overheadPanel struct {
	title, axis string // the panel's heading and its x axis label, with the unit
	bars        []overheadBar
}

// An overheadBar is one dialer's value. A PairDialer's has its ratio to the
// value of the plain net.Dialer of its group (the same benchmark).
type overheadBar struct {
	label, group string
	value        float64
	pair, base   bool // a PairDialer; the net.Dialer the group's ratios are to
	ratio        float64
}

// dialerLabel names a dialer of the dialer package's benchmarks by its
// sub-benchmark or metric prefix; pair says it is a PairDialer.
func dialerLabel(name string) (label string, pair bool) {
	switch name {
	case "netdialer":
		return "net.Dialer", false
	case "netdialer-bound":
		return "net.Dialer binding the source", false
	case "netdialer-netip":
		return "net.Dialer, netip address", false
	case "pairdialer":
		return "PairDialer", true
	case "pairdialer-own":
		return "PairDialer, a Selector per goroutine", true
	}
	return name, strings.HasPrefix(name, "pairdialer")
}

// overheadPanels returns the panels the Go benchmarks have data for: the
// loopback dial one at a time (BenchmarkDial's sub-benchmarks and, when
// present, BenchmarkDialAB's interleaved dials), and the parallel benchmark's
// dials per second and p99 (BenchmarkParallel, when present).
func (r *Report) overheadPanels() []overheadPanel {
	var out []overheadPanel
	one := overheadPanel{title: "Healthy loopback dial, one at a time", axis: "time per dial (µs)"}
	for _, b := range r.GoBench {
		if sub, ok := strings.CutPrefix(b.Name, "BenchmarkDial/"); ok && strings.HasSuffix(b.Pkg, "/dialer") && b.NsOp > 0 {
			l, pair := dialerLabel(sub)
			one.bars = append(one.bars, overheadBar{label: l, group: "Dial", value: b.NsOp / 1e3, pair: pair, base: sub == "netdialer"})
		}
	}
	if ab, ok := findBench(r.GoBench, "dialer", "BenchmarkDialAB"); ok {
		for _, name := range []string{"netdialer", "pairdialer"} {
			if v := ab.Metrics[name+"-ns/dial"]; v > 0 {
				l, pair := dialerLabel(name)
				// The ratio is the table's: the median of the runs'
				// own ratios, not the ratio of the two medians.
				bar := overheadBar{label: l + ", interleaved (DialAB)", group: "DialAB", value: v / 1e3, pair: pair, base: name == "netdialer"}
				if pair {
					bar.ratio = ab.Metrics["x"]
				}
				one.bars = append(one.bars, bar)
			}
		}
	}
	if len(one.bars) > 0 {
		out = append(out, one)
	}
	if par, ok := findBench(r.GoBench, "dialer", "BenchmarkParallel"); ok {
		for _, p := range []overheadPanel{
			{title: "64 goroutines dialing at once: throughput (median of the rounds)", axis: "dials per second"},
			{title: "64 goroutines dialing at once: p99 of a dial (median of the rounds)", axis: "p99 of a dial (ms)"},
		} {
			unit, scale := "-dials/s", 1.0
			if strings.HasPrefix(p.axis, "p99") {
				unit, scale = "-p99-ns/dial", 1e-6
			}
			for _, name := range []string{"netdialer", "pairdialer", "pairdialer-own"} {
				if v, ok := par.Metrics[name+unit]; ok && v > 0 {
					l, pair := dialerLabel(name)
					p.bars = append(p.bars, overheadBar{label: l, group: "Parallel", value: v * scale, pair: pair, base: name == "netdialer"})
				}
			}
			if len(p.bars) > 0 {
				out = append(out, p)
			}
		}
	}
	for i := range out {
		out[i].order()
		out[i].ratios()
	}
	return out
}

// order puts the bars of each group in the order net.Dialer, its variants,
// then PairDialer, the groups as they came.
func (p *overheadPanel) order() {
	groups := []string{}
	for _, b := range p.bars {
		if !slices.Contains(groups, b.group) {
			groups = append(groups, b.group)
		}
	}
	rank := func(b overheadBar) int {
		switch {
		case b.base:
			return 0
		case !b.pair:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(p.bars, func(a, b overheadBar) int {
		return cmp.Or(cmp.Compare(slices.Index(groups, a.group), slices.Index(groups, b.group)), cmp.Compare(rank(a), rank(b)))
	})
}

// ratios sets each PairDialer bar's ratio to its group's base bar, where it
// has none of its own.
func (p *overheadPanel) ratios() {
	base := map[string]float64{}
	for _, b := range p.bars {
		if b.base {
			base[b.group] = b.value
		}
	}
	for i, b := range p.bars {
		if v := base[b.group]; b.pair && v > 0 && b.ratio == 0 {
			p.bars[i].ratio = b.value / v
		}
	}
}

// The overhead chart's layout, in pixels.
const (
	overW      = 960.0
	overLabelR = 292.0
	overX0     = 300.0
	overX1     = 840.0
	overBar    = 18.0
	overBarGap = 6.0
	overPanelH = 30.0 + 46.0 // a panel's heading above and axis below its bars
)

// overheadChart draws chart 3: per panel, a bar per dialer, PairDialer's
// labelled with its ratio to net.Dialer.
func (r *Report) overheadChart() string {
	panels := r.overheadPanels()
	sub := []string{
		fmt.Sprintf("Go benchmarks of the dialer package (%s: go test -bench -benchmem -count N), medians over the runs; lower time and higher throughput are better.",
			shortBenchFile(r.GoBenchFile)),
	}
	if !r.hasParallelBench() {
		sub = append(sub, "No parallel benchmark (BenchmarkParallel) in this run's results.")
	}
	sub = wrapLines(sub, overW)
	top := 28 + 17*float64(len(sub)) + 12 + 18 + 10
	h := top
	for _, p := range panels {
		h += overPanelH + float64(len(p.bars))*(overBar+overBarGap)
	}
	h += 8
	title := "What getapr costs on a healthy path: PairDialer against net.Dialer on loopback"
	d := newSVG(overW, h, title)
	y := d.heading(title, sub)
	d.legend(16, y, overW-16, []legendItem{
		{"net.Dialer", swatchBar(colOrange)},
		{"PairDialer (× its ratio to net.Dialer)", swatchBar(colBlue)},
	})
	pt := top
	for _, p := range panels {
		pt = overheadPanelDraw(d, p, pt)
	}
	return d.String()
}

// overheadPanelDraw draws one panel from y = pt and returns the next panel's
// top.
func overheadPanelDraw(d *svgDoc, p overheadPanel, pt float64) float64 {
	d.text(16, pt+16, p.title, "font-weight", "bold")
	bt := pt + 26
	hi := 0.0
	for _, b := range p.bars {
		hi = max(hi, b.value)
	}
	ticks := linTicks(hi, 6)
	xs := linScale{lo: 0, hi: ticks[len(ticks)-1], p0: overX0, p1: overX1}
	bottom := bt + float64(len(p.bars))*(overBar+overBarGap)
	tx, tl := make([]float64, len(ticks)), make([]string, len(ticks))
	for i, t := range ticks {
		tx[i], tl[i] = xs.at(t), tickText(t)
	}
	d.xAxis(bottom, xs.p0, xs.p1, bt, tx, tl, p.axis)
	d.yAxis(xs.p0, bt, bottom, 0, 14, nil, nil, "dialer")
	for i, b := range p.bars {
		y := bt + overBarGap/2 + float64(i)*(overBar+overBarGap)
		col := colOrange
		if b.pair {
			col = colBlue
		}
		d.text(overLabelR, y+overBar/2+4, b.label, "text-anchor", "end")
		d.rect(xs.p0, y, xs.at(b.value)-xs.p0, overBar, "class", "mark bar", "fill", col)
		v := valueText(b.value)
		if b.ratio > 0 {
			v += fmt.Sprintf("  (%.2f×)", b.ratio)
		}
		d.text(xs.at(b.value)+6, y+overBar/2+4, v, "fill", colText, "font-size", "11")
	}
	return bottom + 46
}

// valueText renders a bar's value with three significant digits at most.
func valueText(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// hasParallelBench reports whether the Go benchmarks have BenchmarkParallel.
func (r *Report) hasParallelBench() bool {
	_, ok := findBench(r.GoBench, "dialer", "BenchmarkParallel")
	return ok
}

// shortBenchFile is the Go benchmarks' file name without its directory.
func shortBenchFile(f string) string {
	if i := strings.LastIndexAny(f, `/\`); i >= 0 {
		f = f[i+1:]
	}
	if f == "" {
		return "bench-go.txt"
	}
	return f
}
