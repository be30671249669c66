package netstate

import "time"

// debouncer turns a stream of change events into rebuilds: leading edge plus
// trailing edge. The first event after a quiet period arms a short quiet window
// that restarts with each further event but never runs past spacing after the
// first; when it ends, the snapshot is rebuilt. Events during the spacing that
// follows a rebuild are gathered into one more rebuild at its end.
//
// It is driven by one goroutine: call event for each change, and fire whenever C
// delivers; fire reports whether to rebuild now.
type debouncer struct {
	quiet, spacing time.Duration
	timer          *time.Timer
	state          debounceState
	first          time.Time // first event of the current burst
	pending        bool      // events arrived while cooling
}

type debounceState uint8

const (
	idle    debounceState = iota // no timer armed
	waiting                      // leading edge: waiting for the quiet window
	cooling                      // after a rebuild: gathering events for spacing
)

func newDebouncer(quiet, spacing time.Duration) *debouncer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &debouncer{quiet: quiet, spacing: spacing, timer: t}
}

// C delivers when fire must be called.
func (d *debouncer) C() <-chan time.Time { return d.timer.C }

// event records one change at now.
func (d *debouncer) event(now time.Time) {
	switch d.state {
	case idle:
		d.state, d.first = waiting, now
		d.timer.Reset(d.quiet)
	case waiting:
		wait := min(d.quiet, d.first.Add(d.spacing).Sub(now))
		d.timer.Reset(max(wait, 0))
	case cooling:
		d.pending = true
	}
}

// fire advances the state when the timer went off and reports whether the
// snapshot must be rebuilt now.
func (d *debouncer) fire() bool {
	switch d.state {
	case waiting:
		d.state = cooling
		d.timer.Reset(d.spacing)
		return true
	case cooling:
		if d.pending {
			d.pending = false
			d.timer.Reset(d.spacing)
			return true
		}
		d.state = idle
	}
	return false
}

func (d *debouncer) stop() { d.timer.Stop() }
