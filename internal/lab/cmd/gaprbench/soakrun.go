package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/getapr/getapr/internal/soak"
)

// soakLongBlackhole is the long blackhole of the soak schedule gaprbench runs
// for the timeline chart, as the soak test's.
const soakLongBlackhole = 45 * time.Second

// soakTimeline runs the soak schedule (soak.Schedule, about 2.5 minutes) with a
// PairDialer over a fresh Selector, then with net.Dialer, the lab restored
// before each, and returns every dial of both.
func (r *runner) soakTimeline(ctx context.Context) (*soak.Timeline, error) {
	sr := &soak.Runner{Lab: r.l, Address: r.ds.addr, Timeout: r.cfg.timeout,
		Log: func(format string, args ...any) { fmt.Fprintf(r.log, "gaprbench: soak: "+format+"\n", args...) }}
	if err := r.l.Restore(); err != nil {
		return nil, err
	}
	sel, err := r.ds.newSelector()
	if err != nil {
		return nil, err
	}
	pd := r.ds.pairDialer(sel)
	res, err := sr.Run(ctx, "PairDialer", pd.DialContext, soak.Schedule(soakLongBlackhole))
	sel.Close()
	if err != nil {
		return nil, err
	}
	if err := r.l.Restore(); err != nil {
		return nil, err
	}
	nd := &net.Dialer{Timeout: r.cfg.timeout, Resolver: r.ds.resolver}
	nres, err := sr.Run(ctx, "net.Dialer", nd.DialContext, soak.Schedule(soakLongBlackhole))
	if err != nil {
		return nil, err
	}
	return soak.NewTimeline(res, nres)
}

// writeSoak writes the soak runs' table: per fault, each run's failed dials
// and its time back on the best path after the heal.
func (r *Report) writeSoak(b *strings.Builder) {
	tl := r.Soak
	fmt.Fprintf(b, "One process dials the lab server's name every %s ms through the schedule of the soak test (package internal/soak), faults of uplink 0 (%s ms) while uplink 1 (%s ms) keeps working: first with a PairDialer over a fresh Selector (quiet probing), then with net.Dialer over the same schedule; each dial has a timeout of %v. Per fault: the dials that failed (of those that ended within the fault's phase), and the time from the heal to the first dial from which on every dial went over the best uplink.\n\n",
		tickText(tl.Runs[0].EveryMS), ms(r.RTT[0]), ms(r.RTT[1]), r.Timeout)
	b.WriteString("| fault | held |")
	for _, run := range tl.Runs {
		fmt.Fprintf(b, " %s: failed dials | %s: back on the best path |", run.Method, run.Method)
	}
	b.WriteString("\n|---|--:|" + strings.Repeat("--:|--:|", len(tl.Runs)) + "\n")
	for n, i := range faultPhases(tl.Runs[0]) {
		p := tl.Runs[0].Phases[i]
		fmt.Fprintf(b, "| %d %s | %.0f s |", n+1, p.Name, p.HealedS-p.StartS)
		for _, run := range tl.Runs {
			if i >= len(run.Phases) || run.Phases[i].Name != p.Name {
				b.WriteString(" | |")
				continue
			}
			q := run.Phases[i]
			fmt.Fprintf(b, " %d | %s |", q.Failed, backText(q.BackS))
		}
		b.WriteString("\n")
	}
}

// backText renders a time back on the best path, in seconds; negative: never.
func backText(s float64) string {
	if s < 0 {
		return "never"
	}
	return fmt.Sprintf("%.2f s", s)
}
