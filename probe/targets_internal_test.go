package probe

import (
	"net/netip"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
)

// TestWantForgetsDropped checks that a destination capWanted drops is
// forgotten whole: the Prober's maps stay bounded by MaxDestinations however
// many destinations the application asks for (they are remote-controlled: a
// name's answers).
func TestWantForgetsDropped(t *testing.T) {
	w := netstate.NewStatic(&netstate.Snapshot{})
	defer w.Close()
	p := NewProber(NewStore(), w, ProberConfig{
		Candidates: func(netip.AddrPort) []Path { return nil },
		Interval:   time.Hour,
	})
	defer p.Close()
	for i := range 5000 {
		p.Want(netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, byte(i >> 8), byte(i)}), 443))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for d := range p.pendingAt {
		if _, ok := p.pending[d]; !ok {
			t.Fatalf("%v: when it became pending is kept, but it is no longer pending (%d kept in all)", d, len(p.pendingAt))
		}
	}
	if n, limit := len(p.pendingAt), p.cfg.MaxDestinations; n > limit {
		t.Errorf("%d destinations kept pending, more than MaxDestinations (%d)", n, limit)
	}
}
