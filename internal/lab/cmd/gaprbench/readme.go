package main

import (
	"fmt"
	"strings"
)

// The lines that bound the README's benchmark region.
const (
	regionStart = "<!-- bench:start -->"
	regionEnd   = "<!-- bench:end -->"
)

// replaceRegion returns doc with the lines between the region's start and end
// marker lines replaced by region; the markers and everything outside them are
// kept as they are. Each marker must stand alone on exactly one line, the start
// before the end.
func replaceRegion(doc, region string) (string, error) {
	start, err := markerLine(doc, regionStart)
	if err != nil {
		return "", err
	}
	end, err := markerLine(doc, regionEnd)
	if err != nil {
		return "", err
	}
	if end < start {
		return "", fmt.Errorf("%s comes before %s", regionEnd, regionStart)
	}
	body := start + len(regionStart)
	body += strings.IndexByte(doc[body:], '\n') + 1 // the start line's end: end > start, so there is one
	if region != "" && !strings.HasSuffix(region, "\n") {
		region += "\n"
	}
	return doc[:body] + region + doc[end:], nil
}

// markerLine returns the offset of the one line of doc that is marker (spaces
// around it allowed), or an error when there is no such line or more than one.
func markerLine(doc, marker string) (int, error) {
	at, n := -1, 0
	for off := 0; off < len(doc); {
		line, _, _ := strings.Cut(doc[off:], "\n")
		if strings.TrimSpace(line) == marker {
			at, n = off, n+1
		}
		off += len(line) + 1
	}
	switch {
	case n == 0:
		return 0, fmt.Errorf("no line %s", marker)
	case n > 1:
		return 0, fmt.Errorf("%d lines %s, want one", n, marker)
	}
	return at, nil
}
