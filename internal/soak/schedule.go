package soak

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// The phases of a schedule, each a fault of uplink 0 (ISP A, 20 ms; uplink 1 is
// 60 ms and keeps working). Hold and Observe are as given.

// CutFlushed cuts uplink 0's carrier and heals it, flushing the neighbour caches.
func CutFlushed(hold, observe time.Duration) Phase {
	return Phase{Name: "cut, neighbours flushed on heal", Hold: hold, Observe: observe, BestFault: 1, BestHealed: 0,
		Fault: func(l *lab.Lab) error { return l.Cut(0, true) },
		Heal:  func(l *lab.Lab) error { return l.Cut(0, false) }}
}

// CutFailed cuts uplink 0's carrier while a connect from its GUA leaves the
// router's IPv6 neighbour entry FAILED, and heals it keeping that entry: Linux
// then skips the IPv6 default route through the router until it solicits it
// again.
func CutFailed(hold, observe time.Duration) Phase {
	return Phase{Name: "cut, router left FAILED on heal", Hold: hold, Observe: observe, BestFault: 1, BestHealed: 0,
		Fault: func(l *lab.Lab) error { return l.CutKeepNeighbors(0, true) },
		Poke:  failRouter,
		Heal:  func(l *lab.Lab) error { return l.CutKeepNeighbors(0, false) }}
}

// failRouter connects from uplink 0's GUA to the server while the uplink is cut:
// neighbour discovery of the router fails.
func failRouter(ctx context.Context, l *lab.Lab) {
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(l.Uplink(0).GUA, 0)), Timeout: 4 * time.Second}
	if c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(l.Server().Open6, l.Server().Port).String()); err == nil {
		c.Close()
	}
}

// Blackhole makes ISP A drop everything of the client for hold.
func Blackhole(hold, observe time.Duration) Phase {
	return Phase{Name: "blackhole " + hold.String(), Hold: hold, Observe: observe, BestFault: 1, BestHealed: 0,
		Fault: func(l *lab.Lab) error { return l.Blackhole(0, true) },
		Heal:  func(l *lab.Lab) error { return l.Blackhole(0, false) }}
}

// Slower makes uplink 0 five times slower (20 → 100 ms, uplink 1 60 ms) for
// hold, then fast again.
func Slower(hold, observe time.Duration) Phase {
	return Phase{Name: "5× slower, then fast again", Hold: hold, Observe: observe, BestFault: 1, BestHealed: 0,
		Fault: func(l *lab.Lab) error { return l.SetRTT(0, 5*l.Uplink(0).RTT) },
		Heal:  func(l *lab.Lab) error { return l.SetRTT(0, l.Uplink(0).RTT/5) }}
}

// Readdress removes uplink 0's GUA for hold and adds it back; the uplink's ULA
// and IPv4 address keep it the best.
func Readdress(hold, observe time.Duration) Phase {
	gua := func(l *lab.Lab) netip.Prefix { return netip.PrefixFrom(l.Uplink(0).GUA, 64) }
	return Phase{Name: "GUA removed and re-added", Hold: hold, Observe: observe, BestFault: 0, BestHealed: 0,
		Fault: func(l *lab.Lab) error { return l.RemoveClientAddr(0, gua(l)) },
		Heal:  func(l *lab.Lab) error { return l.AddClientAddr(0, gua(l)) }}
}

// Move moves uplink 0's link to another network (another router, another IPv6
// prefix, no ULA) for hold and back home.
func Move(hold, observe time.Duration) Phase {
	return Phase{Name: "moved to another network and back", Hold: hold, Observe: observe, BestFault: 0, BestHealed: 0,
		Fault: func(l *lab.Lab) error { return l.Move(0, true) },
		Heal:  func(l *lab.Lab) error { return l.Move(0, false) }}
}

// Jitter puts the two uplinks 5 ms apart (20 and 25 ms) and changes each one's
// delay every 250 ms by a random amount within ±2 ms, for hold; it heals to
// 20 and 60 ms. The first pair should not flip between them (see
// PhaseResult.Flips).
func Jitter(hold time.Duration) Phase {
	const base0, base1 = 20 * time.Millisecond, 25 * time.Millisecond
	return Phase{Name: "±2 ms jitter, uplinks 5 ms apart", Hold: hold, BestFault: 0, BestHealed: 0,
		Fault: func(l *lab.Lab) error {
			return errors.Join(l.SetRTT(0, base0), l.SetRTT(1, base1))
		},
		Poke: func(ctx context.Context, l *lab.Lab) {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				j := func() time.Duration { return time.Duration(rand.N(4001)-2000) * time.Microsecond }
				if l.SetRTT(0, base0+j()) != nil || l.SetRTT(1, base1+j()) != nil {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		},
		Heal: func(l *lab.Lab) error {
			return errors.Join(l.SetRTT(0, base0), l.SetRTT(1, 60*time.Millisecond))
		}}
}

// Warm is a healthy phase.
func Warm(d time.Duration) Phase {
	return Phase{Name: "healthy", Hold: d, BestFault: 0, BestHealed: 0}
}

// Schedule is the soak schedule: warm-up, the two cuts, a short and a long
// blackhole (longBlackhole), a path five times slower and fast again, an address
// removed and re-added, and a move to another network and back.
func Schedule(longBlackhole time.Duration) []Phase {
	return []Phase{
		Warm(5 * time.Second),
		CutFlushed(5*time.Second, 6*time.Second),
		CutFailed(5*time.Second, 6*time.Second),
		Blackhole(10*time.Second, 13*time.Second),
		Blackhole(longBlackhole, 13*time.Second),
		Slower(10*time.Second, 13*time.Second),
		Readdress(5*time.Second, 5*time.Second),
		Move(10*time.Second, 5*time.Second),
	}
}
