package dialer

import (
	"context"
	"time"

	"github.com/getapr/getapr/pairs"
)

// Trace receives the connect attempts of a dial as they happen, for tools that show
// a timeline (cmd/getapr dial). Install one with WithTrace on the context passed to
// DialContext. The funcs may be called from several goroutines at once, and all
// calls for a dial happen before DialContext returns. A nil func is ignored.
type Trace struct {
	// AttemptStart is called when an attempt over p starts.
	AttemptStart func(p pairs.Pair)
	// AttemptDone is called when the attempt over p ends after d. err nil means this
	// attempt connected (it may still lose the race and be closed).
	AttemptDone func(p pairs.Pair, d time.Duration, err error)
}

// traceKey is the context key of a *Trace.
type traceKey struct{}

// WithTrace returns a copy of ctx that carries t; DialContext reports every attempt
// of a dial under that context to t.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// traceFrom returns the Trace ctx carries, or nil.
func traceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}
