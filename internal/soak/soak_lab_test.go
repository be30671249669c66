//go:build lab

package soak_test

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/internal/lab"
	"github.com/getapr/getapr/internal/soak"
)

func TestMain(m *testing.M) { os.Exit(lab.Main(m, lab.Options{})) }

// The environment of the soak test.
const (
	// envTimeline names a file to write the timeline of every dial to (JSON,
	// see soak.Timeline).
	envTimeline = "GETAPR_SOAK_TIMELINE"
	// envNetDialer, when "1", runs the schedule for net.Dialer too.
	envNetDialer = "GETAPR_SOAK_NETDIALER"
	// envOnly, a comma-separated list of phase numbers (from 0), runs only
	// those phases of the schedule, for looking into one.
	envOnly = "GETAPR_SOAK_ONLY"
)

// schedule returns the soak schedule, or the phases envOnly asks for.
func schedule(t *testing.T) []soak.Phase {
	all := soak.Schedule(45 * time.Second)
	only := os.Getenv(envOnly)
	if only == "" {
		return all
	}
	var out []soak.Phase
	for _, f := range strings.Split(only, ",") {
		i, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || i < 0 || i >= len(all) {
			t.Fatalf("%s=%q: want phase numbers 0..%d", envOnly, only, len(all)-1)
		}
		out = append(out, all[i])
	}
	return out
}

// phaseLimits are the soak test's bounds per phase: the targets (the
// benchmark measures medians), with a second of slack for a loaded machine.
var phaseLimits = map[string]struct{ toBest, back time.Duration }{
	"cut, neighbours flushed on heal":   {back: 3 * time.Second},
	"cut, router left FAILED on heal":   {back: 3 * time.Second},
	"blackhole 10s":                     {back: 12 * time.Second},
	"blackhole 45s":                     {back: 12 * time.Second},
	"5× slower, then fast again":        {toBest: 3 * time.Second, back: 12 * time.Second},
	"GUA removed and re-added":          {toBest: 3 * time.Second, back: 3 * time.Second},
	"moved to another network and back": {toBest: 5 * time.Second, back: time.Second},
}

// TestSoak runs one long-lived process (this test, with the zero PairDialer and
// so the default Selector) dialing the lab server every 250 ms through the soak
// schedule, and checks per phase: no failed dial (uplink 1 always works), the
// time back on the best path, and no dial slower than the attempt delay plus the
// best RTT plus slack once the fault is known.
func TestSoak(t *testing.T) {
	l := lab.Current(t)
	srv := l.Server()
	r := &soak.Runner{Lab: l, Address: net.JoinHostPort(srv.Name, strconv.Itoa(int(srv.Port))), Log: t.Logf}
	ctx := context.Background()
	pd := &dialer.PairDialer{Resolver: l.Resolver(), Timeout: 5 * time.Second}
	res, err := r.Run(ctx, "getapr", pd.DialContext, schedule(t))
	if err != nil {
		t.Fatal(err)
	}
	runs := []*soak.Result{res}
	timeline := os.Getenv(envTimeline)
	if os.Getenv(envNetDialer) == "1" {
		if err := l.Restore(); err != nil {
			t.Fatal(err)
		}
		nd := &net.Dialer{Resolver: l.Resolver(), Timeout: 5 * time.Second}
		nres, err := r.Run(ctx, "net.Dialer", nd.DialContext, schedule(t))
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, nres)
	}
	if timeline != "" {
		f, err := os.Create(timeline)
		if err != nil {
			t.Fatal(err)
		}
		if err := soak.WriteTimeline(f, runs...); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("timeline written to %s", timeline)
	}
	for _, p := range res.Phases {
		lim := phaseLimits[p.Name]
		if p.Failed > 0 {
			t.Errorf("%s: %d of %d dials failed while uplink 1 worked", p.Name, p.Failed, p.Dials)
		}
		if p.Slow > 0 {
			t.Errorf("%s: %d dials slower than %v once the fault was known (slowest %v)", p.Name, p.Slow, p.Bound, p.Slowest)
		}
		if lim.toBest > 0 && (p.ToBest < 0 || p.ToBest > lim.toBest) {
			t.Errorf("%s: on the best path %v after the fault, want within %v", p.Name, p.ToBest, lim.toBest)
		}
		if lim.back > 0 && (p.Back < 0 || p.Back > lim.back) {
			t.Errorf("%s: back on the best path %v after the heal, want within %v", p.Name, p.Back, lim.back)
		}
		if p.Name == soak.Move(0, 0).Name && p.FirstHealed != p.BestHealed {
			t.Errorf("%s: the first dial back home (from %v after the heal) went over uplink %d, want %d (measured values, fast path first)",
				p.Name, soak.HealSettle, p.FirstHealed, p.BestHealed)
		}
	}
}
