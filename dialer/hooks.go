package dialer

import (
	"context"
	"sync/atomic"
	"syscall"
)

// hookGate is what the attempts of one dial share of the caller's Control or
// ControlContext hook: the one part of an attempt that may not end when its
// context does (a hook that blocks without watching it). It counts the
// attempts inside the hook, so that a race that has a winner can tell whether
// its other attempts will end at once (it then waits for them, and reports
// them before DialContext returns) or may not (it returns the winner, as
// net.Dialer does, and leaves them to a goroutine); and once the race is
// over, it keeps the later attempts out of the hook.
type hookGate struct {
	inside atomic.Int32
	over   atomic.Bool
}

// control returns a ControlContext that runs c, or cc when set (as net.Dialer
// prefers it), counted inside g; once the race is over it fails with ctx's
// error without running either.
func (g *hookGate) control(c func(string, string, syscall.RawConn) error,
	cc func(context.Context, string, string, syscall.RawConn) error,
) func(context.Context, string, string, syscall.RawConn) error {
	return func(ctx context.Context, network, address string, rc syscall.RawConn) error {
		g.inside.Add(1)
		defer g.inside.Add(-1)
		if g.over.Load() {
			// After close: ctx is canceled by now.
			if err := ctx.Err(); err != nil {
				return err
			}
			return context.Canceled
		}
		if cc != nil {
			return cc(ctx, network, address, rc)
		}
		return c(network, address, rc)
	}
}

// close marks the race over, after its context was canceled, and reports
// whether an attempt is inside the hook. An attempt that enters the hook
// after close found none inside sees the race over (both sides write, then
// read the other's word: one of them sees the other's write), so a false
// answer means every attempt still running ends soon.
func (g *hookGate) close() (busy bool) {
	if g == nil {
		return false
	}
	g.over.Store(true)
	return g.inside.Load() > 0
}
