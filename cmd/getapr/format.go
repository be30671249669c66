package main

import (
	"io"
	"math"
	"net/netip"
	"strconv"
	"text/tabwriter"
	"time"
)

// newTable returns a tabwriter for aligned columns; Flush it when done.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// fmtMS formats d in milliseconds with one decimal: "20.3ms".
func fmtMS(d time.Duration) string { return msText(float64(d) / float64(time.Millisecond)) }

// msText formats a number of milliseconds with one decimal: "20.3ms".
func msText(ms float64) string { return strconv.FormatFloat(ms, 'f', 1, 64) + "ms" }

// msJSON is d in milliseconds, rounded to the microsecond, for JSON.
func msJSON(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1e3
}

// family is "ipv6" or "ipv4".
func family(a netip.Addr) string {
	if a.Is4() || a.Is4In6() {
		return "ipv4"
	}
	return "ipv6"
}

// addrText is a or "none" when a is invalid.
func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return "none"
	}
	return a.String()
}

// orDash is s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
