package main

import (
	"fmt"
	"strconv"

	"github.com/getapr/getapr/internal/soak"
)

// The timeline chart's layout, in pixels.
const (
	soakW      = 960.0
	soakX0     = 76.0
	soakX1     = 936.0
	soakPanel  = 190.0 // height of one run's plot
	soakGap    = 62.0  // from one plot's bottom to the next one's top
	soakKeyRow = 17.0
)

// uplinkColour is the colour of the dials over uplink u (-1: another source).
func uplinkColour(u int) string {
	switch u {
	case 0:
		return colBlue
	case 1:
		return colOrange
	}
	return colMuted
}

// faultPhases returns the indexes of run's phases that hold a fault: every
// one but the healthy warm-up.
func faultPhases(run soak.TimelineRun) []int {
	var out []int
	for i, p := range run.Phases {
		if p.Name != soak.Warm(0).Name && p.HealedS > p.StartS {
			out = append(out, i)
		}
	}
	return out
}

// soakKey returns the lines of the faults' key: "1 NAME (HOLD s)" each, as
// many on a line as fit.
func (r *Report) soakKey() []string {
	run := r.Soak.Runs[0]
	var lines []string
	cur := "Faults of uplink 0, numbered as on the plots: "
	for n, i := range faultPhases(run) {
		p := run.Phases[i]
		item := fmt.Sprintf("%d %s (%.0f s)", n+1, p.Name, p.HealedS-p.StartS)
		switch {
		case n == 0:
			cur += item
		case textWidth(cur+" · "+item, svgFontSize) > soakW-32:
			lines = append(lines, cur)
			cur = item
		default:
			cur += " · " + item
		}
	}
	return append(lines, cur)
}

// soakChart draws chart 2: one plot per run of the soak schedule (PairDialer,
// then net.Dialer over the same schedule), every dial a dot at its start time
// and connect time, coloured by the uplink of its source, a failed dial an ×
// at the timeout, each fault a shaded band, and a triangle where the run was
// back on the best path after the heal.
func (r *Report) soakChart() string {
	tl := r.Soak
	sub := []string{
		fmt.Sprintf("One process dials the lab server's name every %s ms, each dial with a timeout of %v, through the soak schedule (internal/soak);",
			tickText(tl.Runs[0].EveryMS), r.Timeout),
		fmt.Sprintf("uplink 0 (%s ms) is the preferred path, uplink 1 (%s ms) keeps working. PairDialer has a fresh Selector; net.Dialer then runs the same schedule.",
			ms(r.RTT[0]), ms(r.RTT[1])),
	}
	key := r.soakKey()
	sub = wrapLines(sub, soakW)
	top := 28 + 17*float64(len(sub)) + 12 + 18 + 34
	n := float64(len(tl.Runs))
	h := top + n*soakPanel + (n-1)*soakGap + 56 + soakKeyRow*float64(len(key)) + 8
	title := "Living through faults: every dial of a long-running process, PairDialer beside net.Dialer"
	d := newSVG(soakW, h, title)
	y := d.heading(title, sub)
	items := []legendItem{
		{"connected over uplink 0", swatchDot(uplinkColour(0))},
		{"over uplink 1", swatchDot(uplinkColour(1))},
	}
	if r.soakHasOther() {
		items = append(items, legendItem{"over another source", swatchDot(uplinkColour(-1))})
	}
	items = append(items,
		legendItem{"failed (drawn at the timeout)", swatchCross(colVermilion)},
		legendItem{"fault held", swatchBar(colFault)},
		legendItem{"back on the best path after the heal", swatchTriangle(colGreen)})
	d.legend(16, y, soakW-16, items)

	xs := linScale{lo: 0, hi: r.soakEnd(), p0: soakX0, p1: soakX1}
	ys := r.soakYScale()
	for i, run := range tl.Runs {
		pt := top + float64(i)*(soakPanel+soakGap)
		ys.p0, ys.p1 = pt+soakPanel, pt
		label := ""
		if i == len(tl.Runs)-1 {
			label = "time since the run started (s)"
		}
		r.soakPanel(d, run, xs, ys, label)
	}
	ky := top + n*soakPanel + (n-1)*soakGap + 56
	for k, l := range key {
		d.text(16, ky+soakKeyRow*float64(k), l, "class", "key")
	}
	return d.String()
}

// soakPanel draws one run's plot.
func (r *Report) soakPanel(d *svgDoc, run soak.TimelineRun, xs linScale, ys logScale, xLabel string) {
	pt, pb := ys.p1, ys.p0
	failed := 0
	for _, dl := range run.Dials {
		if dl.Err != "" {
			failed++
		}
	}
	d.text(soakX0, pt-8, fmt.Sprintf("%s: %d dials, %d failed", run.Method, len(run.Dials), failed), "font-weight", "bold")
	for n, i := range faultPhases(run) {
		p := run.Phases[i]
		x0, x1 := xs.at(p.StartS), xs.at(p.HealedS)
		d.rect(x0, pt, x1-x0, pb-pt, "class", "fault", "fill", colFault)
		d.text(x0+3, pt+12, strconv.Itoa(n+1), "font-size", "11", "font-weight", "bold", "fill", colMuted)
	}
	ticks := linTicks(xs.hi, 12)
	xt, xl := make([]float64, len(ticks)), make([]string, len(ticks))
	for i, t := range ticks {
		xt[i], xl[i] = xs.at(t), tickText(t)
	}
	d.xAxis(pb, xs.p0, xs.p1, pt, xt, xl, xLabel)
	yt := series125(ys.lo, ys.hi)
	yp, yl := make([]float64, len(yt)), make([]string, len(yt))
	for i, t := range yt {
		yp[i], yl[i] = ys.at(t), tickText(t)
	}
	d.yAxis(xs.p0, pt, pb, xs.p1, 26, yp, yl, "connect time (ms, log)")
	r.soakDials(d, run, xs, ys)
	var back pathData
	for _, i := range faultPhases(run) {
		if p := run.Phases[i]; p.BackS >= 0 {
			back.triangleDown(xs.at(p.HealedS+p.BackS), pt+9, 4)
		}
	}
	if back.Len() > 0 {
		d.elem("path", "class", "mark back", "d", back.String(), "fill", colGreen)
	}
}

// soakDials draws the dials of one run: a path of dots per uplink, one of
// crosses for the failures.
func (r *Report) soakDials(d *svgDoc, run soak.TimelineRun, xs linScale, ys logScale) {
	var fails pathData
	dots := map[int]*pathData{}
	for _, dl := range run.Dials {
		x := xs.at(dl.T)
		if dl.Err != "" {
			fails.cross(x, ys.at(ys.hi), 3)
			continue
		}
		u := min(max(dl.Uplink, -1), 1)
		if dots[u] == nil {
			dots[u] = &pathData{}
		}
		dots[u].dot(x, ys.at(dl.MS))
	}
	for _, u := range []int{-1, 1, 0} {
		if p := dots[u]; p != nil {
			d.elem("path", "class", fmt.Sprintf("mark dials uplink%d", u), "d", p.String(),
				"stroke", uplinkColour(u), "stroke-width", "3.5", "stroke-linecap", "round", "fill", "none")
		}
	}
	if fails.Len() > 0 {
		d.elem("path", "class", "mark failed", "d", fails.String(), "stroke", colVermilion, "stroke-width", "1.5", "fill", "none")
	}
}

// soakEnd is the end of the longest run, in seconds.
func (r *Report) soakEnd() float64 {
	end := 1.0
	for _, run := range r.Soak.Runs {
		for _, p := range run.Phases {
			end = max(end, p.EndS)
		}
		for _, dl := range run.Dials {
			end = max(end, dl.T)
		}
	}
	return end
}

// soakYScale is the plots' connect-time scale (pixels unset): from a round
// value below the fastest dial to one at or above the timeout.
func (r *Report) soakYScale() logScale {
	hi := ms64(r.Timeout)
	lo := hi
	for _, run := range r.Soak.Runs {
		for _, dl := range run.Dials {
			if dl.Err == "" && dl.MS > 0 {
				lo = min(lo, dl.MS)
			}
		}
	}
	return logScale{lo: floor125(max(lo*0.9, 0.1)), hi: ceil125(hi)}
}

// soakHasOther reports whether a dial connected from a source of no uplink.
func (r *Report) soakHasOther() bool {
	for _, run := range r.Soak.Runs {
		for _, dl := range run.Dials {
			if dl.Err == "" && dl.Uplink < 0 {
				return true
			}
		}
	}
	return false
}
