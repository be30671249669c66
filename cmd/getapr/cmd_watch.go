package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/getapr/getapr/pairs"
)

// defaultWatchInterval is how often watch refreshes without a network change: the
// prober's round interval.
const defaultWatchInterval = 10 * time.Second

// changeJSON is one line of "getapr watch --json" (one JSON object per line).
type changeJSON struct {
	Time   time.Time `json:"time"`
	Change string    `json:"change"` // added, changed or removed
	Key    string    `json:"key"`    // e.g. "NAT44", "source 10.0.0.2", "pair HOST:PORT SRC -> DST"
	Old    string    `json:"old,omitempty"`
	New    string    `json:"new,omitempty"`
}

func runWatch(ctx context.Context, c *cli, cmd *command, args []string) error {
	var interval time.Duration
	o, pos, err := c.parse(cmd, args, func(fs *flag.FlagSet) {
		fs.DurationVar(&interval, "interval", defaultWatchInterval, "refresh at least this often")
	})
	if err != nil {
		return err
	}
	if interval <= 0 {
		return badArgs(cmd, "--interval must be positive")
	}
	var dests []dest
	for _, p := range pos {
		d, err := parseDest(p, 443)
		if err == nil {
			err = checkUnicast(d.host)
		}
		if err != nil {
			return usagef("%v", err)
		}
		if !slices.Contains(dests, d) { // HOST and HOST:443 are one destination
			dests = append(dests, d)
		}
	}
	o.eager = true // watching wants the paths measured as they change
	b, err := c.open(ctx, o)
	if err != nil && ctx.Err() != nil {
		return nil // interrupted during --wait: the end of a watch, as later
	}
	if err != nil {
		return err
	}
	defer b.Close()
	for _, d := range dests {
		if err := checkZone(b, d.host); err != nil {
			return err
		}
	}
	w := &watch{c: c, b: b, dests: dests, timeout: o.timeout, json: o.json, hist: latencyHistory{}}
	return w.loop(ctx, interval)
}

// watch is one run of the watch command.
type watch struct {
	c       *cli
	b       backend
	dests   []dest
	timeout time.Duration
	json    bool
	prev    []field
	// hist holds each measured pair's latest latencies, by field key, for its
	// sparkline.
	hist latencyHistory
}

// loop refreshes on every network change and every interval until ctx is done.
func (w *watch) loop(ctx context.Context, interval time.Duration) error {
	changed := make(chan struct{}, 1)
	unsubscribe := w.b.Subscribe(func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer unsubscribe()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		cur := w.state(ctx)
		if ctx.Err() != nil {
			return nil // interrupted: that is how watch ends
		}
		if err := w.print(cur); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-t.C:
		}
	}
}

// state is the current view as ordered key/value lines.
func (w *watch) state(ctx context.Context) []field {
	st := w.b.Status()
	cur := statusFields(st)
	for _, s := range st.Sources {
		v := fmt.Sprintf("%s %s %s", orDash(s.Interface), s.Class, s.Health)
		if s.Failures > 0 {
			v += fmt.Sprintf(" failures=%d", s.Failures)
		}
		cur = append(cur, field{"source " + s.Addr.String(), v})
	}
	measured := map[string]bool{}
	for _, d := range w.dests {
		cur = append(cur, w.pairFields(ctx, d, measured)...)
	}
	w.hist.keep(measured)
	return cur
}

// pairFields returns a field per pair of d, best first; a measured pair's ends
// with the sparkline of its latest latencies, and its key goes into measured.
func (w *watch) pairFields(ctx context.Context, d dest, measured map[string]bool) []field {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	ps, err := w.b.Get(ctx, d.host, d.port)
	if err != nil {
		return []field{{"pairs " + d.String(), "error: " + message(err)}}
	}
	if len(ps) == 0 {
		return []field{{"pairs " + d.String(), "none usable"}}
	}
	out := make([]field, len(ps))
	for i, p := range ps {
		key := fmt.Sprintf("pair %s %s -> %s", d, p.Src.Addr(), p.Dst)
		v := fmt.Sprintf("#%d %s %s %s", i+1, fmtMS(p.Latency), p.Basis, p.Health)
		if f := pairFlags(p); f != "-" {
			v += " " + f
		}
		if p.Basis == pairs.Measured {
			v += " " + w.hist.add(key, p.Latency)
			measured[key] = true
		}
		out[i] = field{key, v}
	}
	return out
}

// print writes one line per difference between the previous state and cur.
func (w *watch) print(cur []field) error {
	now := time.Now().In(w.c.loc)
	old := make(map[string]string, len(w.prev))
	for _, f := range w.prev {
		old[f.key] = f.value
	}
	seen := make(map[string]bool, len(cur))
	var changes []changeJSON
	for _, f := range cur {
		seen[f.key] = true
		switch was, ok := old[f.key]; {
		case !ok:
			changes = append(changes, changeJSON{Time: now, Change: "added", Key: f.key, New: f.value})
		case was != f.value:
			changes = append(changes, changeJSON{Time: now, Change: "changed", Key: f.key, Old: was, New: f.value})
		}
	}
	for _, f := range w.prev {
		if !seen[f.key] {
			changes = append(changes, changeJSON{Time: now, Change: "removed", Key: f.key, Old: f.value})
		}
	}
	w.prev = cur
	return w.emit(changes)
}

func (w *watch) emit(changes []changeJSON) error {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	for _, ch := range changes {
		if w.json {
			if err := enc.Encode(ch); err != nil {
				return err
			}
			continue
		}
		ts := ch.Time.Format("15:04:05.000")
		switch ch.Change {
		case "added":
			fmt.Fprintf(&sb, "%s + %s: %s\n", ts, ch.Key, ch.New)
		case "changed":
			fmt.Fprintf(&sb, "%s ~ %s: %s -> %s\n", ts, ch.Key, ch.Old, ch.New)
		default:
			fmt.Fprintf(&sb, "%s - %s (was %s)\n", ts, ch.Key, ch.Old)
		}
	}
	_, err := fmt.Fprint(w.c.stdout, sb.String())
	return err
}
