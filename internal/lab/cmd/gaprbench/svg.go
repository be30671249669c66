package main

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The charts' look: a white background of their own, so that they read the
// same in GitHub's light and dark themes, dark text in a generic font family
// (nothing to install), and colours told apart by colour-blind readers too
// (Okabe and Ito's palette).
const (
	svgFont       = "sans-serif"
	svgFontSize   = 12.0
	colBackground = "#ffffff"
	colText       = "#222222"
	colMuted      = "#555555"
	colGrid       = "#e3e3e3"
	colBand       = "#f3f5f7"
	colFault      = "#dcdcdc"
	colBlue       = "#0072b2"
	colSky        = "#56b4e9"
	colOrange     = "#e69f00"
	colVermilion  = "#d55e00"
	colPurple     = "#cc79a7"
	colGreen      = "#009e73"
)

// svgDoc writes one SVG document as text: the same calls give the same bytes.
// Every attribute is a name and a value; numbers go through num.
type svgDoc struct {
	b    strings.Builder
	w, h float64
}

// newSVG starts a document of w × h pixels with its title (the <title> a
// reader's tools show) and an opaque background.
func newSVG(w, h float64, title string) *svgDoc {
	d := &svgDoc{w: w, h: h}
	d.b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	d.open("svg", "xmlns", "http://www.w3.org/2000/svg", "width", num(w), "height", num(h),
		"viewBox", "0 0 "+num(w)+" "+num(h), "font-family", svgFont, "font-size", num(svgFontSize), "fill", colText)
	d.b.WriteString("<title>" + esc(title) + "</title>\n")
	d.elem("rect", "class", "background", "width", num(w), "height", num(h), "rx", "6", "fill", colBackground)
	return d
}

// String closes the document and returns it.
func (d *svgDoc) String() string { return d.b.String() + "</svg>\n" }

// open writes a start tag.
func (d *svgDoc) open(tag string, attrs ...string) {
	d.b.WriteString("<" + tag)
	d.attrs(attrs)
	d.b.WriteString(">\n")
}

// close writes an end tag.
func (d *svgDoc) close(tag string) { d.b.WriteString("</" + tag + ">\n") }

// elem writes an empty element.
func (d *svgDoc) elem(tag string, attrs ...string) {
	d.b.WriteString("<" + tag)
	d.attrs(attrs)
	d.b.WriteString("/>\n")
}

func (d *svgDoc) attrs(attrs []string) {
	for i := 0; i+1 < len(attrs); i += 2 {
		d.b.WriteString(" " + attrs[i] + `="` + esc(attrs[i+1]) + `"`)
	}
}

// text writes s at (x, y), the baseline's start unless attrs say otherwise.
func (d *svgDoc) text(x, y float64, s string, attrs ...string) {
	d.b.WriteString(`<text x="` + num(x) + `" y="` + num(y) + `"`)
	d.attrs(attrs)
	d.b.WriteString(">" + esc(s) + "</text>\n")
}

// line writes a line from (x1, y1) to (x2, y2).
func (d *svgDoc) line(x1, y1, x2, y2 float64, attrs ...string) {
	d.elem("line", append([]string{"x1", num(x1), "y1", num(y1), "x2", num(x2), "y2", num(y2)}, attrs...)...)
}

// rect writes a rectangle.
func (d *svgDoc) rect(x, y, w, h float64, attrs ...string) {
	d.elem("rect", append([]string{"x", num(x), "y", num(y), "width", num(max(w, 0)), "height", num(max(h, 0))}, attrs...)...)
}

// circle writes a circle.
func (d *svgDoc) circle(cx, cy, r float64, attrs ...string) {
	d.elem("circle", append([]string{"cx", num(cx), "cy", num(cy), "r", num(r)}, attrs...)...)
}

// pathData builds the d attribute of a path.
type pathData struct{ strings.Builder }

// dot adds a zero-length stroke at (x, y): with a round line cap, a dot of the
// stroke's width. Thousands of them cost a few bytes each.
func (p *pathData) dot(x, y float64) { p.WriteString("M" + num(x) + " " + num(y) + "h0") }

// cross adds an × of half-size r centred on (x, y).
func (p *pathData) cross(x, y, r float64) {
	p.WriteString("M" + num(x-r) + " " + num(y-r) + "l" + num(2*r) + " " + num(2*r) +
		"m0 " + num(-2*r) + "l" + num(-2*r) + " " + num(2*r))
}

// triangleDown adds a filled triangle pointing down at (x, y), r wide each side.
func (p *pathData) triangleDown(x, y, r float64) {
	p.WriteString("M" + num(x-r) + " " + num(y-2*r) + "h" + num(2*r) + "L" + num(x) + " " + num(y) + "Z")
}

// num renders v with at most one decimal: enough for pixels, and the same
// text for the same value.
func num(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0 // no "-0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// esc escapes s for XML text and attribute values.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

// textWidth estimates the width of s at font size px: the charts place their
// text without fonts to measure it with, so a generous average glyph width.
func textWidth(s string, px float64) float64 { return float64(utf8.RuneCountInString(s)) * px * 0.58 }

// wrap splits s at spaces into lines of at most width pixels at font size px
// (a word longer than that gets a line of its own).
func wrap(s string, width, px float64) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(s) {
		switch {
		case cur == "":
			cur = w
		case textWidth(cur+" "+w, px) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// A legendItem is one entry of a legend: a swatch drawn by mark at (x, y), the
// swatch's centre, and its label.
type legendItem struct {
	label string
	mark  func(d *svgDoc, x, y float64)
}

// legend writes items left to right from x at baseline y, starting a new line
// when one would pass maxX; it returns the baseline of its last line.
func (d *svgDoc) legend(x, y, maxX float64, items []legendItem) float64 {
	d.open("g", "class", "legend")
	cx := x
	for _, it := range items {
		w := 18 + textWidth(it.label, svgFontSize) + 16
		if cx > x && cx+w > maxX {
			cx, y = x, y+18
		}
		it.mark(d, cx+6, y-4)
		d.text(cx+16, y, it.label)
		cx += w
	}
	d.close("g")
	return y
}

// Legend swatches.

func swatchDot(col string) func(d *svgDoc, x, y float64) {
	return func(d *svgDoc, x, y float64) { d.circle(x, y, 4, "fill", col) }
}

func swatchCross(col string) func(d *svgDoc, x, y float64) {
	return func(d *svgDoc, x, y float64) {
		var p pathData
		p.cross(x, y, 4)
		d.elem("path", "d", p.String(), "stroke", col, "stroke-width", "2", "fill", "none")
	}
}

func swatchBar(col string) func(d *svgDoc, x, y float64) {
	return func(d *svgDoc, x, y float64) { d.rect(x-6, y-5, 12, 10, "fill", col) }
}

func swatchVLine(col, dash string) func(d *svgDoc, x, y float64) {
	return func(d *svgDoc, x, y float64) {
		d.line(x, y-7, x, y+7, "stroke", col, "stroke-width", "2", "stroke-dasharray", dash)
	}
}

func swatchWhisker(col string) func(d *svgDoc, x, y float64) {
	return func(d *svgDoc, x, y float64) {
		d.line(x-3, y, x+7, y, "stroke", col, "stroke-width", "1.5")
		d.line(x+7, y-4, x+7, y+4, "stroke", col, "stroke-width", "1.5")
		d.circle(x-3, y, 3.5, "fill", col)
	}
}

func swatchTriangle(col string) func(d *svgDoc, x, y float64) {
	return func(d *svgDoc, x, y float64) {
		var p pathData
		p.triangleDown(x, y+5, 5)
		d.elem("path", "d", p.String(), "fill", col)
	}
}

// A logScale maps values in [lo, hi] (both > 0) logarithmically onto
// [p0, p1] pixels.
type logScale struct{ lo, hi, p0, p1 float64 }

func (s logScale) at(v float64) float64 {
	v = min(max(v, s.lo), s.hi)
	return s.p0 + (math.Log(v)-math.Log(s.lo))/(math.Log(s.hi)-math.Log(s.lo))*(s.p1-s.p0)
}

// A linScale maps values in [lo, hi] linearly onto [p0, p1] pixels.
type linScale struct{ lo, hi, p0, p1 float64 }

func (s linScale) at(v float64) float64 {
	if s.hi == s.lo {
		return s.p0
	}
	v = min(max(v, s.lo), s.hi)
	return s.p0 + (v-s.lo)/(s.hi-s.lo)*(s.p1-s.p0)
}

// series125 returns the values 1, 2, 5 × 10^k that lie in [lo, hi].
func series125(lo, hi float64) []float64 {
	var out []float64
	for e := math.Floor(math.Log10(lo)) - 1; e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			v = roundSig(v)
			if v >= lo*(1-1e-9) && v <= hi*(1+1e-9) {
				out = append(out, v)
			}
		}
	}
	return out
}

// floor125 returns the largest 1, 2, 5 × 10^k at or below v (> 0); ceil125
// the smallest at or above it.
func floor125(v float64) float64 {
	s := series125(v/10, v)
	return s[len(s)-1]
}

func ceil125(v float64) float64 { return series125(v, v*10)[0] }

// roundSig rounds v to 12 significant digits, so that 3 × 0.1 prints as 0.3.
func roundSig(v float64) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	return f
}

// linTicks returns about n evenly spaced round ticks from 0 to at least hi
// (> 0): the step is 1, 2 or 5 × 10^k. The last tick is the axis's end.
func linTicks(hi float64, n int) []float64 {
	step := ceil125(hi / float64(n))
	var out []float64
	for v := 0.0; ; v += step {
		out = append(out, roundSig(v))
		if v >= hi*(1-1e-9) {
			return out
		}
	}
}

// tickText renders a tick value without needless decimals.
func tickText(v float64) string { return strconv.FormatFloat(roundSig(v), 'f', -1, 64) }

// xAxis draws a horizontal axis at y from x0 to x1 with the ticks at xs
// (labelled by labels), vertical grid lines up to gridTop, and the axis label
// centred below.
func (d *svgDoc) xAxis(y, x0, x1, gridTop float64, xs []float64, labels []string, label string) {
	d.open("g", "class", "grid", "stroke", colGrid)
	for _, x := range xs {
		d.line(x, gridTop, x, y)
	}
	d.close("g")
	d.line(x0, y, x1, y, "class", "axis x", "stroke", colText)
	d.open("g", "class", "ticks", "fill", colMuted, "text-anchor", "middle", "font-size", "11")
	for i, x := range xs {
		d.line(x, y, x, y+4, "stroke", colText)
		d.text(x, y+16, labels[i])
	}
	d.close("g")
	d.text((x0+x1)/2, y+34, label, "class", "axis-label x", "text-anchor", "middle")
}

// yAxis draws a vertical axis at x from y0 (top) to y1 with the ticks at ys
// (labelled by labels; none for a category axis), horizontal grid lines up to
// gridRight, and the axis label turned along it, at labelX.
func (d *svgDoc) yAxis(x, y0, y1, gridRight, labelX float64, ys []float64, labels []string, label string) {
	if len(ys) > 0 {
		d.open("g", "class", "grid", "stroke", colGrid)
		for _, y := range ys {
			d.line(x, y, gridRight, y)
		}
		d.close("g")
	}
	d.line(x, y0, x, y1, "class", "axis y", "stroke", colText)
	if len(ys) > 0 {
		d.open("g", "class", "ticks", "fill", colMuted, "text-anchor", "end", "font-size", "11")
		for i, y := range ys {
			d.line(x-4, y, x, y, "stroke", colText)
			d.text(x-7, y+4, labels[i])
		}
		d.close("g")
	}
	my := (y0 + y1) / 2
	d.text(labelX, my, label, "class", "axis-label y", "text-anchor", "middle",
		"transform", "rotate(-90 "+num(labelX)+" "+num(my)+")")
}

// wrapLines wraps each of lines to the width of a chart w pixels wide.
func wrapLines(lines []string, w float64) []string {
	var out []string
	for _, l := range lines {
		out = append(out, wrap(l, w-32, svgFontSize)...)
	}
	return out
}

// heading writes the chart's visible title and the lines of its subtitle (as
// wrapLines made them) from the top left; it returns the y below them.
func (d *svgDoc) heading(title string, sub []string) float64 {
	d.text(16, 28, title, "class", "title", "font-size", "16", "font-weight", "bold")
	y := 28.0
	for _, s := range sub {
		y += 17
		d.text(16, y, s, "class", "subtitle", "fill", colMuted)
	}
	return y + 20 // a line's height below the last baseline: the legend's text clears its descenders
}
