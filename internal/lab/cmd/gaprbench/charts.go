package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// maxChartSize is the largest chart file gaprbench writes.
const maxChartSize = 50 << 10

// A chart is one SVG file of the report.
type chart struct {
	// file is the file's name in the charts directory; alt its text for
	// readers who do not see it.
	file, alt string
	render    func(r *Report) string
}

// The charts, by file name.
const (
	chartConnect  = "time-to-connect.svg"
	chartSoak     = "soak-timeline.svg"
	chartOverhead = "dial-overhead.svg"
)

// charts returns the charts the report has data for.
func (r *Report) charts() []chart {
	var cs []chart
	if len(r.Scenarios) > 0 {
		cs = append(cs, chart{chartConnect, "Time to connect per scenario: net.Dialer, curl, PairDialer cold and warm", (*Report).connectChart})
	}
	if r.Soak != nil && len(r.Soak.Runs) > 0 {
		cs = append(cs, chart{chartSoak, "Every dial of a long-running process through faults of uplink 0, PairDialer beside net.Dialer", (*Report).soakChart})
	}
	if len(r.overheadPanels()) > 0 {
		cs = append(cs, chart{chartOverhead, "Cost of a loopback dial, PairDialer against net.Dialer, one at a time and in parallel", (*Report).overheadChart})
	}
	return cs
}

// chart returns the chart named file, if the report has it.
func (r *Report) chart(file string) (chart, bool) {
	i := slices.IndexFunc(r.charts(), func(c chart) bool { return c.file == file })
	if i < 0 {
		return chart{}, false
	}
	return r.charts()[i], true
}

// chartImage is the markdown that shows the chart named file, or "" when the
// report has no such chart or no charts directory.
func (r *Report) chartImage(file string) string {
	c, ok := r.chart(file)
	if !ok || r.ChartDir == "" {
		return ""
	}
	return fmt.Sprintf("![%s](%s)\n", c.alt, path.Join(r.ChartDir, c.file))
}

// writeCharts renders every chart the report has into dir, after checking
// each (checkSVG), and returns the files written.
func (r *Report) writeCharts(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, c := range r.charts() {
		svg := c.render(r)
		if err := checkSVG([]byte(svg)); err != nil {
			return files, fmt.Errorf("chart %s: %w", c.file, err)
		}
		f := filepath.Join(dir, c.file)
		if err := os.WriteFile(f, []byte(svg), 0o644); err != nil {
			return files, err
		}
		files = append(files, f)
	}
	return files, nil
}

// checkSVG parses a chart with encoding/xml and checks that it is one: an svg
// root of a given size, a title (as <title> and as text), an opaque
// background, an x and a y axis each with its label (the x axis's with a unit
// in parentheses), a legend, at least one data mark (an element of class
// "mark"), only generic font families, and under maxChartSize.
func checkSVG(data []byte) error {
	if len(data) >= maxChartSize {
		return fmt.Errorf("%d bytes, want under %d", len(data), maxChartSize)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var (
		stack  []string // the open elements' classes, innermost last
		found  = map[string]bool{}
		text   strings.Builder
		inText string // class of the <text> or <title> being read
		labels = map[string]string{}
	)
	for depth := 0; ; {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := checkElement(t, depth, found); err != nil {
				return err
			}
			class := attr(t, "class")
			stack = append(stack, class)
			depth++
			if t.Name.Local == "text" || t.Name.Local == "title" {
				inText = t.Name.Local + ":" + class
				text.Reset()
			}
		case xml.CharData:
			if inText != "" {
				text.Write(t)
			}
		case xml.EndElement:
			depth--
			if inText != "" && (t.Name.Local == "text" || t.Name.Local == "title") {
				s := strings.TrimSpace(text.String())
				if s != "" {
					found[inText] = true
					if slices.Contains(stack[:len(stack)-1], "legend") {
						found["legend text"] = true
					}
					if _, ok := labels[inText]; !ok {
						labels[inText] = s
					}
				}
				inText = ""
			}
			stack = stack[:len(stack)-1]
		}
	}
	for _, want := range []string{"svg", "title:", "background", "text:title", "axis x", "axis y",
		"text:axis-label x", "text:axis-label y", "legend text", "mark"} {
		if !found[want] {
			return fmt.Errorf("no %s", strings.TrimPrefix(want, "text:"))
		}
	}
	if l := labels["text:axis-label x"]; !strings.Contains(l, "(") {
		return fmt.Errorf("x axis label %q has no unit in parentheses", l)
	}
	return nil
}

// checkElement records what element t is and checks its attributes.
func checkElement(t xml.StartElement, depth int, found map[string]bool) error {
	if depth == 0 {
		if t.Name.Local != "svg" || t.Name.Space != "http://www.w3.org/2000/svg" {
			return fmt.Errorf("root element %s %s, want svg", t.Name.Space, t.Name.Local)
		}
		for _, a := range []string{"width", "height", "viewBox"} {
			if attr(t, a) == "" {
				return fmt.Errorf("svg has no %s", a)
			}
		}
		found["svg"] = true
	}
	if f := attr(t, "font-family"); f != "" && !slices.Contains([]string{"sans-serif", "serif", "monospace"}, f) {
		return fmt.Errorf("font family %q is not a generic one", f)
	}
	class := strings.Fields(attr(t, "class"))
	switch {
	case slices.Contains(class, "background"):
		if t.Name.Local != "rect" || attr(t, "fill") == "" || attr(t, "fill") == "none" {
			return errors.New("the background is not a filled rect")
		}
		found["background"] = true
	case slices.Contains(class, "axis"):
		for _, xy := range []string{"x", "y"} {
			if slices.Contains(class, xy) {
				found["axis "+xy] = true
			}
		}
	case slices.Contains(class, "mark"):
		found["mark"] = true
	}
	return nil
}

// attr returns the value of t's attribute name, or "".
func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
