// Package soak runs a long-lived dialer through a schedule of faults in the
// project's lab (package internal/lab) and measures how it lives through them:
// failed dials, the time back on the best path once a fault ends, and dials
// slower than a fault that is known should cost. The lab's soak test (go test
// -tags lab ./internal/soak) and the lab benchmark (gaprbench) run it.
//
// One process dials the lab server's name every Every (250 ms); each dial runs
// on its own, so a dial that hangs does not delay the next. A Phase starts a
// fault, holds it, heals it, and watches the healed lab for a while; the Result
// keeps every dial (when, how long, over which uplink, the error) and, per
// phase, what it measured.
package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// DefaultEvery is the period of the dials.
const DefaultEvery = 250 * time.Millisecond

// A DialFunc makes one connection to the lab server (address is its name and
// port).
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Phase is one step of a schedule: a fault, held for Hold, then healed, then
// Observe of the healed lab.
type Phase struct {
	Name string
	// Fault breaks the lab (nil: nothing); Poke, if set, runs once, Hold/10
	// after the fault, for what the fault needs besides (say, traffic that
	// leaves the router's neighbour entry FAILED), and must return when its
	// context ends, at the end of Hold; Heal repairs it (nil: nothing).
	Fault, Heal func(l *lab.Lab) error
	Poke        func(ctx context.Context, l *lab.Lab)
	Hold        time.Duration
	Observe     time.Duration
	// BestFault and BestHealed are the uplinks of the best working path while
	// the fault holds and once it is healed; -1: no single best one.
	BestFault, BestHealed int
}

// Dial is one dial of a run.
type Dial struct {
	// At is when the dial started, since the run started; Duration how long it
	// took to connect or fail.
	At, Duration time.Duration
	// Uplink is the uplink of the connection's source address, -1 when it
	// failed or the source is not the lab's.
	Uplink int
	// Phase is the index of the phase the dial started in; Healed whether it
	// started after the phase's heal.
	Phase  int
	Healed bool
	Err    string
}

// PhaseResult is what a run measured in one phase. Durations that were not
// reached are -1.
type PhaseResult struct {
	Name string
	// Start, Healed and End are when the fault started, was healed, and the
	// observation ended, since the run started.
	Start, Healed, End    time.Duration
	BestFault, BestHealed int
	Dials, Failed         int
	// ToBest is the time from the fault to the first dial from which on every
	// dial of the fault went over BestFault; Back the same from the heal, over
	// BestHealed.
	ToBest, Back time.Duration
	// FirstHealed is the uplink of the first dial started HealSettle or more
	// after the heal (-1: failed or none).
	FirstHealed int
	// Flips counts the changes of uplink between successive dials of the
	// fault.
	Flips int
	// Slow counts the dials, once the fault is known (KnownAfter after it and
	// after the heal), slower than Bound; Slowest is the slowest of them all
	// then.
	Slow    int
	Slowest time.Duration
	Bound   time.Duration
}

// Result is one run of a schedule.
type Result struct {
	Method string
	Every  time.Duration
	Start  time.Time
	Phases []PhaseResult
	Dials  []Dial
}

// HealSettle is how long after the heal a dial starts at least to be the
// first dial of the healed network (PhaseResult.FirstHealed): a heal is
// several changes (addresses, then routes), and the host's view of them, a
// netstate snapshot, follows by up to one debounce (netstate.DefaultDebounce,
// 50 ms) and a dump. A dial started within it may run on the view from before
// the heal; once it has passed, the first dial must go over the best path.
const HealSettle = 100 * time.Millisecond

// KnownAfter is how long after a fault starts (or is healed) the dialer is
// expected to know of it: from then on no dial may take more than the bound.
const KnownAfter = 3 * time.Second

// Bound is the longest a dial may take once a fault is known: the attempt delay
// (RFC 8305's 250 ms default, the most getapr waits before the next attempt)
// plus the best path's RTT plus slack.
func Bound(bestRTT time.Duration) time.Duration {
	return 250*time.Millisecond + bestRTT + 100*time.Millisecond
}

// Runner runs schedules in a lab.
type Runner struct {
	Lab *lab.Lab
	// Address is the lab server's name and port.
	Address string
	// Every is the period of the dials; zero means DefaultEvery.
	Every time.Duration
	// Timeout bounds each dial; zero means 5 s.
	Timeout time.Duration
	// Log, if set, receives a line per phase.
	Log func(format string, args ...any)
}

// Run dials with dial through phases and returns what it measured. It fails
// only when a control of the lab fails or ctx ends.
func (r *Runner) Run(ctx context.Context, method string, dial DialFunc, phases []Phase) (*Result, error) {
	every := cmpOr(r.Every, DefaultEvery)
	res := &Result{Method: method, Every: every, Start: time.Now()}
	rec := &recorder{start: res.Start, addrs: r.uplinkAddrs()}
	stop := rec.dialEvery(ctx, every, cmpOr(r.Timeout, 5*time.Second), r.Address, dial)
	var err error
	for i, ph := range phases {
		var pr PhaseResult
		if pr, err = r.phase(ctx, rec, i, ph); err != nil {
			break
		}
		res.Phases = append(res.Phases, pr)
	}
	stop()
	res.Dials = rec.all()
	for i := range res.Phases {
		res.Phases[i].measure(res.Dials, i, r.bestRTT(phases[i]))
		if r.Log != nil {
			r.Log("%s: %s", method, res.Phases[i])
		}
	}
	return res, err
}

// phase runs one phase; the dials go on meanwhile.
func (r *Runner) phase(ctx context.Context, rec *recorder, i int, ph Phase) (PhaseResult, error) {
	pr := PhaseResult{Name: ph.Name, BestFault: ph.BestFault, BestHealed: ph.BestHealed}
	rec.setPhase(i, false)
	pr.Start = rec.since()
	if ph.Fault != nil {
		if err := ph.Fault(r.Lab); err != nil {
			return pr, fmt.Errorf("%s: fault: %w", ph.Name, err)
		}
	}
	pctx, stopPoke := context.WithCancel(ctx)
	var poke sync.WaitGroup
	if ph.Poke != nil {
		poke.Go(func() {
			if sleep(pctx, ph.Hold/10) {
				ph.Poke(pctx, r.Lab)
			}
		})
	}
	held := sleep(ctx, ph.Hold)
	stopPoke()
	poke.Wait()
	if !held {
		return pr, ctx.Err()
	}
	if ph.Heal != nil {
		if err := ph.Heal(r.Lab); err != nil {
			return pr, fmt.Errorf("%s: heal: %w", ph.Name, err)
		}
	}
	rec.setPhase(i, true)
	pr.Healed = rec.since()
	if !sleep(ctx, ph.Observe) {
		return pr, ctx.Err()
	}
	pr.End = rec.since()
	return pr, nil
}

// bestRTT is the RTT of the slowest of the phase's best uplinks, as the lab has
// them after the run (the schedules set RTTs back when they heal).
func (r *Runner) bestRTT(ph Phase) time.Duration {
	var d time.Duration
	for _, u := range []int{ph.BestFault, ph.BestHealed} {
		if u >= 0 {
			d = max(d, r.Lab.Uplink(u).RTT)
		}
	}
	return d
}

// uplinkAddrs maps the client's source addresses, home and away, to their uplink.
func (r *Runner) uplinkAddrs() map[netip.Addr]int {
	m := make(map[netip.Addr]int)
	for i := range 2 {
		for _, u := range []lab.Uplink{r.Lab.Uplink(i), r.Lab.Away(i)} {
			for _, a := range []netip.Addr{u.GUA, u.ULA, u.IPv4} {
				if a.IsValid() {
					m[a] = i
				}
			}
		}
	}
	return m
}

// measure fills in the phase's numbers from the dials.
func (pr *PhaseResult) measure(dials []Dial, i int, bestRTT time.Duration) {
	pr.Bound = Bound(bestRTT)
	var fault, healed []Dial
	for _, d := range dials {
		if d.Phase != i || d.At+d.Duration > pr.End {
			continue // another phase's, or it ran into the next phase's fault
		}
		pr.Dials++
		if d.Err != "" {
			pr.Failed++
		}
		switch {
		case d.Healed:
			healed = append(healed, d)
		case d.At+d.Duration <= pr.Healed: // not one the heal changed under it
			fault = append(fault, d)
		}
		start := pr.Start
		if d.Healed {
			start = pr.Healed
		}
		if d.At >= start+KnownAfter {
			pr.Slowest = max(pr.Slowest, d.Duration)
			if d.Duration > pr.Bound {
				pr.Slow++
			}
		}
	}
	pr.ToBest = timeToBest(fault, pr.BestFault, pr.Start)
	pr.Back = timeToBest(healed, pr.BestHealed, pr.Healed)
	pr.FirstHealed = -1
	for _, d := range healed {
		if d.At >= pr.Healed+HealSettle {
			pr.FirstHealed = d.Uplink
			break
		}
	}
	last := -1
	for _, d := range fault {
		if d.Uplink < 0 {
			continue
		}
		if last >= 0 && d.Uplink != last {
			pr.Flips++
		}
		last = d.Uplink
	}
}

// timeToBest returns the time from since to the start of the first dial from
// which on every dial went over uplink best; -1 when the last did not, or best
// is -1.
func timeToBest(dials []Dial, best int, since time.Duration) time.Duration {
	if best < 0 || len(dials) == 0 || dials[len(dials)-1].Uplink != best {
		return -1
	}
	i := len(dials) - 1
	for i > 0 && dials[i-1].Uplink == best {
		i--
	}
	return max(dials[i].At-since, 0)
}

// String is the phase in one line.
func (pr PhaseResult) String() string {
	return fmt.Sprintf("%s: %d dials, %d failed, on the best path %s after the fault and %s after the heal, %d slower than %v (slowest %v)",
		pr.Name, pr.Dials, pr.Failed, durText(pr.ToBest), durText(pr.Back), pr.Slow, pr.Bound, pr.Slowest.Round(time.Millisecond))
}

func durText(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(time.Millisecond).String()
}

// recorder makes the dials and keeps them.
type recorder struct {
	start time.Time
	addrs map[netip.Addr]int

	mu     sync.Mutex
	phase  int
	healed bool
	dials  []Dial
}

func (rec *recorder) since() time.Duration { return time.Since(rec.start) }

func (rec *recorder) setPhase(i int, healed bool) {
	rec.mu.Lock()
	rec.phase, rec.healed = i, healed
	rec.mu.Unlock()
}

// dialEvery starts a dial every period until the returned stop is called; stop
// waits for the dials under way.
func (rec *recorder) dialEvery(ctx context.Context, every, timeout time.Duration, address string, dial DialFunc) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			wg.Go(func() { rec.one(ctx, timeout, address, dial) })
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

// one makes one dial and records it.
func (rec *recorder) one(ctx context.Context, timeout time.Duration, address string, dial DialFunc) {
	rec.mu.Lock()
	d := Dial{At: rec.since(), Phase: rec.phase, Healed: rec.healed, Uplink: -1}
	rec.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	c, err := dial(dctx, "tcp", address)
	d.Duration = time.Since(start)
	if ctx.Err() != nil {
		return // the run ended under it
	}
	if err != nil {
		d.Err = err.Error()
	} else {
		if ap, e := netip.ParseAddrPort(c.LocalAddr().String()); e == nil {
			if u, ok := rec.addrs[ap.Addr().Unmap().WithZone("")]; ok {
				d.Uplink = u
			}
		}
		c.Close()
	}
	rec.mu.Lock()
	rec.dials = append(rec.dials, d)
	rec.mu.Unlock()
}

// all returns the dials in start order.
func (rec *recorder) all() []Dial {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := slices.Clone(rec.dials)
	slices.SortStableFunc(out, func(a, b Dial) int { return int(a.At - b.At) })
	return out
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Timeline is the JSON form of runs, for drawing: times in seconds since each
// run's start, durations in milliseconds.
type Timeline struct {
	Runs []TimelineRun `json:"runs"`
}

// TimelineRun is one run in a Timeline.
type TimelineRun struct {
	Method  string          `json:"method"`
	Start   time.Time       `json:"start"`
	EveryMS float64         `json:"every_ms"`
	Phases  []TimelinePhase `json:"phases"`
	Dials   []TimelineDial  `json:"dials"`
}

// TimelinePhase is one phase in a TimelineRun.
type TimelinePhase struct {
	Name        string  `json:"name"`
	StartS      float64 `json:"start_s"`
	HealedS     float64 `json:"healed_s"`
	EndS        float64 `json:"end_s"`
	BestFault   int     `json:"best_uplink_fault"`
	BestHealed  int     `json:"best_uplink_healed"`
	Failed      int     `json:"failed"`
	ToBestS     float64 `json:"to_best_s"` // -1: never
	BackS       float64 `json:"back_s"`    // -1: never
	FirstHealed int     `json:"first_healed_uplink"`
	Slow        int     `json:"slow"`
	BoundMS     float64 `json:"bound_ms"`
}

// TimelineDial is one dial in a TimelineRun.
type TimelineDial struct {
	T      float64 `json:"t_s"`
	MS     float64 `json:"ms"`
	Uplink int     `json:"uplink"` // -1: failed
	Phase  string  `json:"phase"`
	Healed bool    `json:"healed"`
	Err    string  `json:"err,omitempty"`
}

// WriteTimeline encodes runs as a Timeline.
func WriteTimeline(w io.Writer, runs ...*Result) error {
	tl, err := NewTimeline(runs...)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(tl)
}

// NewTimeline returns runs as a Timeline.
func NewTimeline(runs ...*Result) (*Timeline, error) {
	tl := &Timeline{}
	secs := func(d time.Duration) float64 {
		if d < 0 {
			return -1
		}
		return d.Seconds()
	}
	for _, r := range runs {
		if r == nil {
			return nil, errors.New("soak: no result")
		}
		tr := TimelineRun{Method: r.Method, Start: r.Start, EveryMS: float64(r.Every) / 1e6}
		for _, p := range r.Phases {
			tr.Phases = append(tr.Phases, TimelinePhase{
				Name: p.Name, StartS: p.Start.Seconds(), HealedS: p.Healed.Seconds(), EndS: p.End.Seconds(),
				BestFault: p.BestFault, BestHealed: p.BestHealed, Failed: p.Failed,
				ToBestS: secs(p.ToBest), BackS: secs(p.Back), FirstHealed: p.FirstHealed,
				Slow: p.Slow, BoundMS: float64(p.Bound) / 1e6,
			})
		}
		for _, d := range r.Dials {
			name := ""
			if d.Phase < len(r.Phases) {
				name = r.Phases[d.Phase].Name
			}
			tr.Dials = append(tr.Dials, TimelineDial{T: d.At.Seconds(), MS: float64(d.Duration) / 1e6,
				Uplink: d.Uplink, Phase: name, Healed: d.Healed, Err: d.Err})
		}
		tl.Runs = append(tl.Runs, tr)
	}
	return tl, nil
}
