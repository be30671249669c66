package dialer

import (
	"context"
	"errors"
	"syscall"
	"testing"
)

// TestHookGate checks what a race learns from its hookGate: no attempt inside
// the hook, or one (held there); and that after close an attempt does not run
// the hook but fails with its context's error.
func TestHookGate(t *testing.T) {
	var g hookGate
	entered, release := make(chan struct{}), make(chan struct{})
	calls := 0
	hook := g.control(func(string, string, syscall.RawConn) error {
		calls++
		if calls == 1 {
			close(entered)
			<-release
		}
		return nil
	}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	held := make(chan error)
	go func() { held <- hook(ctx, "tcp", "192.0.2.1:80", nil) }()
	<-entered
	cancel()
	if !g.close() {
		t.Error("close = false with an attempt held in the hook")
	}
	if err := hook(ctx, "tcp", "192.0.2.2:80", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("hook after close = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Errorf("held hook = %v", err)
	}
	if calls != 1 {
		t.Errorf("the caller's hook ran %d times, want once (not after close)", calls)
	}
	if g.close() {
		t.Error("close = true with no attempt inside")
	}
	if (*hookGate)(nil).close() {
		t.Error("a nil gate is busy")
	}

	// ControlContext wins over Control, as in net.Dialer.
	var g2 hookGate
	got := ""
	hook = g2.control(func(string, string, syscall.RawConn) error { got = "Control"; return nil },
		func(context.Context, string, string, syscall.RawConn) error { got = "ControlContext"; return nil })
	if err := hook(context.Background(), "tcp", "192.0.2.1:80", nil); err != nil || got != "ControlContext" {
		t.Errorf("hook ran %q (%v), want ControlContext", got, err)
	}
}
