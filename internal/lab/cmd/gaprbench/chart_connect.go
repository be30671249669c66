package main

import (
	"fmt"
	"time"
)

// methodColour is the colour of method m in the charts: PairDialer in blues,
// the others apart from them.
func methodColour(m int) string {
	return [numMethods]string{colVermilion, colPurple, colSky, colBlue}[m]
}

// The time-to-connect chart's layout, in pixels.
const (
	connectW      = 960.0
	connectLabelR = 292.0 // right edge of the scenario labels
	connectX0     = 300.0 // the plot's left and right
	connectX1     = 868.0
	connectRow    = 15.0 // one method's row
	connectPad    = 7.0  // above and below a scenario's rows
)

// connectChart draws chart 1: per scenario and method, the median time to
// connect as a dot with a whisker to the p95, a failed dial as an × at the
// timeout with the number of failures, the physical limit as a line across the
// scenario, on a log scale.
func (r *Report) connectChart() string {
	band := float64(numMethods)*connectRow + 2*connectPad
	sub := []string{
		fmt.Sprintf("Lab RTTs %s ms (uplink 0) and %s ms (uplink 1); %d dials per method and scenario; a failed dial counts as the %v timeout.",
			ms(r.RTT[0]), ms(r.RTT[1]), r.Dials, r.Timeout),
		"Measured by gaprbench (sudo make bench); details in BENCHMARKS.md.",
	}
	// Height: heading, legend (two lines at most), the bands, the x axis.
	sub = wrapLines(sub, connectW)
	top := 28 + 17*float64(len(sub)) + 12 + 2*18 + 14
	h := top + band*float64(len(r.Scenarios)) + 52
	d := newSVG(connectW, h, "Time to connect when a path is broken: net.Dialer, curl and getapr's PairDialer")
	y := d.heading("Time to connect when a path is broken: net.Dialer, curl and getapr's PairDialer", sub)
	var items []legendItem
	for m := range numMethods {
		items = append(items, legendItem{methodName(m), swatchDot(methodColour(m))})
	}
	items = append(items,
		legendItem{"median, whisker to p95", swatchWhisker(colMuted)},
		legendItem{"failed dials (at the timeout)", swatchCross(colMuted)},
		legendItem{"physical limit (RTT of the best working path)", swatchVLine(colText, "none")})
	d.legend(16, y, connectW-16, items)

	sc := r.connectScale()
	bottom := top + band*float64(len(r.Scenarios))
	for i, s := range r.Scenarios {
		bt := top + band*float64(i)
		if i%2 == 0 {
			d.rect(16, bt, connectW-32, band, "fill", colBand)
		}
		lines := wrap(s.Name, connectLabelR-40, svgFontSize)
		ly := bt + band/2 - 7*float64(len(lines)-1) + 4
		for k, l := range lines {
			d.text(connectLabelR, ly+14*float64(k), l, "text-anchor", "end")
		}
	}
	ticks := series125(sc.lo, sc.hi)
	xs, labels := make([]float64, len(ticks)), make([]string, len(ticks))
	for i, t := range ticks {
		xs[i], labels[i] = sc.at(t), tickText(t)
	}
	d.xAxis(bottom, sc.p0, sc.p1, top, xs, labels, "time to connect (ms, log scale)")
	d.yAxis(sc.p0, top, bottom, 0, 30, nil, nil, "scenario")
	tx := sc.at(ms64(r.Timeout))
	d.line(tx, top, tx, bottom, "class", "timeout", "stroke", colMuted, "stroke-dasharray", "4 3")
	d.text(tx, top-4, "timeout "+r.Timeout.String(), "text-anchor", "middle", "fill", colMuted, "font-size", "11")
	for i, s := range r.Scenarios {
		r.connectScenario(d, sc, top+band*float64(i), band, s)
	}
	return d.String()
}

// connectScale is the chart's x scale: from a round value below the fastest
// median or limit to one at or above the timeout.
func (r *Report) connectScale() logScale {
	lo := ms64(r.Timeout)
	for _, s := range r.Scenarios {
		if s.Limit > 0 {
			lo = min(lo, ms64(s.Limit))
		}
		for _, x := range s.Results {
			if x.N > 0 && x.Median > 0 {
				lo = min(lo, ms64(x.Median))
			}
		}
	}
	return logScale{lo: floor125(lo * 0.9), hi: ceil125(ms64(r.Timeout)), p0: connectX0, p1: connectX1}
}

// connectScenario draws one scenario's band, its top at bt.
func (r *Report) connectScenario(d *svgDoc, sc logScale, bt, band float64, s ScenarioResult) {
	if s.Limit > 0 {
		x := sc.at(ms64(s.Limit))
		d.line(x, bt+2, x, bt+band-2, "class", "mark limit", "stroke", colText, "stroke-width", "2")
	}
	tx := sc.at(ms64(r.Timeout))
	for m, x := range s.Results {
		y := bt + connectPad + connectRow*(float64(m)+0.5)
		col := methodColour(m)
		if x.N == 0 {
			d.text(sc.p0+6, y+4, methodName(m)+": not measured", "fill", colMuted, "font-size", "10")
			continue
		}
		if x.Failed < x.N && x.Median < r.Timeout {
			mx, px := sc.at(ms64(x.Median)), sc.at(ms64(x.P95))
			d.open("g", "class", "mark", "stroke", col, "fill", col)
			d.line(mx, y, px, y, "stroke-width", "1.5")
			d.line(px, y-4, px, y+4, "stroke-width", "1.5")
			d.circle(mx, y, 4, "stroke", "none")
			d.close("g")
			d.text(max(mx, px)+6, y+4, ms(x.Median), "fill", colMuted, "font-size", "10")
		}
		if x.Failed > 0 {
			var p pathData
			p.cross(tx, y, 4)
			d.elem("path", "class", "mark failed", "d", p.String(), "stroke", col, "stroke-width", "2", "fill", "none")
			d.text(tx+8, y+4, fmt.Sprintf("%d/%d failed", x.Failed, x.N), "fill", col, "font-size", "10")
		}
	}
}

// ms64 is d in milliseconds.
func ms64(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
