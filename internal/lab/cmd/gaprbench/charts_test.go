package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getapr/getapr/internal/soak"
)

// testTimeline is a small soak timeline of two runs over the same schedule
// (healthy, a cut, a blackhole): PairDialer moves to uplink 1 and back, net.Dialer's
// dials fail through the blackhole.
func testTimeline() *soak.Timeline {
	phases := []soak.TimelinePhase{
		{Name: "healthy", StartS: 0, HealedS: 5, EndS: 5, BestFault: 0, BestHealed: 0, BackS: 0, ToBestS: 0},
		{Name: "cut, neighbours flushed on heal", StartS: 5, HealedS: 10, EndS: 16, BestFault: 1, BestHealed: 0, BackS: 0.25, ToBestS: 0},
		{Name: "blackhole 10s", StartS: 16, HealedS: 26, EndS: 39, BestFault: 1, BestHealed: 0, BackS: 1.5, ToBestS: 0.25},
	}
	run := func(method string, dial func(t float64, p int) soak.TimelineDial) soak.TimelineRun {
		r := soak.TimelineRun{Method: method, EveryMS: 250, Phases: phases}
		for k := range 156 {
			t := float64(k) / 4
			p := 0
			for i, ph := range phases {
				if t >= ph.StartS {
					p = i
				}
			}
			dl := dial(t, p)
			dl.T, dl.Phase, dl.Healed = t, phases[p].Name, t >= phases[p].HealedS
			r.Dials = append(r.Dials, dl)
		}
		return r
	}
	pd := run("PairDialer", func(t float64, p int) soak.TimelineDial {
		ph := phases[p]
		switch {
		case p > 0 && t < ph.HealedS && t == ph.StartS:
			return soak.TimelineDial{MS: 312, Uplink: 1}
		case p > 0 && t < ph.HealedS, p > 0 && t < ph.HealedS+ph.BackS:
			return soak.TimelineDial{MS: 61 + float64(int(t*4)%3)/2, Uplink: 1}
		}
		return soak.TimelineDial{MS: 20.5 + float64(int(t*4)%5)/4, Uplink: 0}
	})
	nd := run("net.Dialer", func(t float64, p int) soak.TimelineDial {
		ph := phases[p]
		switch {
		case p == 2 && t < ph.HealedS:
			return soak.TimelineDial{MS: 5000, Uplink: -1, Err: "dial tcp: i/o timeout"}
		case p == 1 && t < ph.HealedS:
			return soak.TimelineDial{MS: 3020, Uplink: 1}
		}
		return soak.TimelineDial{MS: 20.4 + float64(int(t*4)%4)/4, Uplink: 0}
	})
	return &soak.Timeline{Runs: []soak.TimelineRun{pd, nd}}
}

// chartReport is testReport with the soak timeline and the Go benchmarks of
// testdata/charts/bench-go.txt (with the parallel and interleaved dial
// benchmarks).
func chartReport(t *testing.T) *Report {
	t.Helper()
	r := testReport(t)
	r.Soak = testTimeline()
	f, err := os.Open("testdata/charts/bench-go.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if r.GoBench, err = parseGoBench(f); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestChartsGolden(t *testing.T) {
	r := chartReport(t)
	cs := r.charts()
	if len(cs) != 3 {
		t.Fatalf("%d charts, want 3", len(cs))
	}
	for _, c := range cs {
		t.Run(c.file, func(t *testing.T) {
			svg := c.render(r)
			if err := checkSVG([]byte(svg)); err != nil {
				t.Errorf("checkSVG: %v", err)
			}
			if again := c.render(chartReport(t)); again != svg {
				t.Error("the same data rendered twice differs")
			}
			golden(t, "charts/"+c.file, svg)
		})
	}
}

func TestChartsWithLessData(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(r *Report)
		files []string
	}{
		{"no soak", func(r *Report) { r.Soak = nil }, []string{chartConnect, chartOverhead}},
		{"no Go benchmarks", func(r *Report) { r.GoBench = nil }, []string{chartConnect, chartSoak}},
		{"only BenchmarkDial", func(r *Report) { r.GoBench = testGoBench(t) }, []string{chartConnect, chartSoak, chartOverhead}},
		{"no scenarios", func(r *Report) { r.Scenarios = nil }, []string{chartSoak, chartOverhead}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := chartReport(t)
			tc.edit(r)
			var files []string
			for _, c := range r.charts() {
				files = append(files, c.file)
				if err := checkSVG([]byte(c.render(r))); err != nil {
					t.Errorf("%s: %v", c.file, err)
				}
			}
			if fmt.Sprint(files) != fmt.Sprint(tc.files) {
				t.Errorf("charts %v, want %v", files, tc.files)
			}
		})
	}
}

func TestOverheadPanels(t *testing.T) {
	ps := chartReport(t).overheadPanels()
	var got []string
	for _, p := range ps {
		for _, b := range p.bars {
			got = append(got, fmt.Sprintf("%s|%s|%.4g|%.3f", p.axis, b.label, b.value, b.ratio))
		}
	}
	want := []string{
		"time per dial (µs)|net.Dialer|44|0.000",
		"time per dial (µs)|net.Dialer binding the source|48|0.000",
		"time per dial (µs)|PairDialer|52|1.182",
		"time per dial (µs)|net.Dialer, interleaved (DialAB)|50.5|0.000",
		"time per dial (µs)|PairDialer, interleaved (DialAB)|54.25|1.075", // the runs' median ratio, as the table
		"dials per second|net.Dialer|1.41e+04|0.000",
		"dials per second|PairDialer|1.355e+04|0.961",
		"dials per second|PairDialer, a Selector per goroutine|1.39e+04|0.986",
		"p99 of a dial (ms)|net.Dialer|26.5|0.000",
		"p99 of a dial (ms)|PairDialer|28|1.057",
		"p99 of a dial (ms)|PairDialer, a Selector per goroutine|27.5|1.038",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("bars:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCheckSVGRejects(t *testing.T) {
	good := chartReport(t).connectChart()
	for _, tc := range []struct {
		name, old, new, err string
	}{
		{"not XML", "</svg>", "", "EOF"},
		{"no title", "<title>Time to connect", "<desc>Time to connect", "no title"},
		{"no visible title", `class="title"`, `class="head"`, "no title"},
		{"no background", `class="background"`, `class="bg"`, "no background"},
		{"transparent background", `fill="#ffffff"`, `fill="none"`, "background"},
		{"no x axis", `class="axis x"`, `class="line"`, "no axis x"},
		{"no y axis label", `class="axis-label y"`, `class="label"`, "no axis-label y"},
		{"no unit", "(ms, log scale)", "ms", "no unit"},
		{"no mark", `class="mark`, `class="dot`, "no mark"},
		{"no legend", `class="legend"`, `class="key"`, "no legend"},
		{"a font to install", `font-family="sans-serif"`, `font-family="Inter"`, "generic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.ReplaceAll(good, tc.old, tc.new)
			if tc.name == "no title" {
				bad = strings.Replace(bad, "</title>", "</desc>", 1)
			}
			if bad == good {
				t.Fatalf("%q not in the chart", tc.old)
			}
			if err := checkSVG([]byte(bad)); err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("checkSVG = %v; want an error with %q", err, tc.err)
			}
		})
	}
	big := strings.Replace(good, "</svg>", "<!--"+strings.Repeat("x", maxChartSize)+"--></svg>", 1)
	if err := checkSVG([]byte(big)); err == nil || !strings.Contains(err.Error(), "bytes") {
		t.Errorf("checkSVG of %d bytes = %v; want too large", len(big), err)
	}
}

func TestWriteCharts(t *testing.T) {
	dir := t.TempDir()
	r := chartReport(t)
	files, err := r.writeCharts(filepath.Join(dir, "charts"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("wrote %v, want 3 files", files)
	}
	checkSVGFiles(t, files)
}

// checkSVGFiles checks each of files with checkSVG.
func checkSVGFiles(t *testing.T, files []string) {
	t.Helper()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkSVG(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestMarkdownCharts(t *testing.T) {
	r := chartReport(t)
	if md := r.Markdown(); strings.Contains(md, ".svg") {
		t.Errorf("a report without ChartDir shows a chart")
	}
	r.ChartDir = "charts"
	md, region := r.Markdown(), r.Region()
	for _, f := range []string{chartConnect, chartSoak, chartOverhead} {
		if !strings.Contains(md, "](charts/"+f+")") {
			t.Errorf("the report does not show charts/%s", f)
		}
	}
	for _, f := range []string{chartSoak, chartOverhead} {
		if !strings.Contains(region, "](charts/"+f+")") {
			t.Errorf("the README region does not show charts/%s", f)
		}
	}
	if strings.Contains(region, chartConnect) {
		t.Errorf("the README region shows %s, which the README shows after the two commands", chartConnect)
	}
}

func TestSeries125(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{10, 5000, "[10 20 50 100 200 500 1000 2000 5000]"},
		{0.1, 1, "[0.1 0.2 0.5 1]"},
		{15, 30, "[20]"},
	} {
		if got := fmt.Sprint(series125(tc.lo, tc.hi)); got != tc.want {
			t.Errorf("series125(%v, %v) = %s; want %s", tc.lo, tc.hi, got, tc.want)
		}
	}
	for v, want := range map[float64][2]float64{18: {10, 20}, 20: {20, 20}, 4999: {2000, 5000}, 0.3: {0.2, 0.5}} {
		if f, c := floor125(v), ceil125(v); f != want[0] || c != want[1] {
			t.Errorf("floor125, ceil125(%v) = %v, %v; want %v", v, f, c, want)
		}
	}
	for _, tc := range []struct {
		hi   float64
		n    int
		want string
	}{
		{156, 12, "[0 20 40 60 80 100 120 140 160]"},
		{54.25, 6, "[0 10 20 30 40 50 60]"},
		{0.3, 3, "[0 0.1 0.2 0.3]"},
	} {
		if got := fmt.Sprint(linTicks(tc.hi, tc.n)); got != tc.want {
			t.Errorf("linTicks(%v, %d) = %s; want %s", tc.hi, tc.n, got, tc.want)
		}
	}
}

func TestSVGWriter(t *testing.T) {
	d := newSVG(100, 50, `a <b> & "c"`)
	var p pathData
	p.dot(1.25, 2)
	p.cross(10, 10, 2)
	d.elem("path", "class", "mark", "d", p.String())
	d.text(5, 6, "x < y", "text-anchor", "end")
	want := `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100 50" font-family="sans-serif" font-size="12" fill="#222222">
<title>a &lt;b&gt; &amp; &quot;c&quot;</title>
<rect class="background" width="100" height="50" rx="6" fill="#ffffff"/>
<path class="mark" d="M1.3 2h0M8 8l4 4m0 -4l-4 4"/>
<text x="5" y="6" text-anchor="end">x &lt; y</text>
</svg>
`
	if got := d.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := num(-0.04); got != "0" {
		t.Errorf("num(-0.04) = %q; want 0", got)
	}
	if got := wrap("TLS, uplink 0 a TCP-terminating middlebox", 150, 12); len(got) != 3 {
		t.Errorf("wrap = %q; want 3 lines", got)
	}
}
