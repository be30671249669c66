package netstate

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// BenchmarkDump is a full rebuild from the kernel (four dumps and the parse) of
// the multihomed lab host. Root only.
func BenchmarkDump(b *testing.B) {
	l := newLab(b)
	l.multihomed()
	be, err := newBackend(config{log: nopLogger(), netns: l.fd})
	if err != nil {
		b.Fatal(err)
	}
	defer be.close()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := be.dump(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRouteFor is one RTM_GETROUTE round trip with the source set, on the
// multihomed lab host. Root only.
func BenchmarkRouteFor(b *testing.B) {
	l := newLab(b)
	l.multihomed()
	m, err := New(WithNetNS(l.fd))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	src, dst := netip.MustParseAddr("198.51.100.10"), netip.MustParseAddr("8.8.8.8")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.RouteFor(ctx, src, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// latencyEvent is a snapshot's arrival at the subscriber: when, and whether the
// benchmark's address was in it.
type latencyEvent struct {
	at      time.Time
	present bool
}

// BenchmarkEventLatency measures the time from a netlink change (an address added
// or removed by the benchmark's own rtnetlink request) to the subscriber's
// callback with the new state, with the default 50 ms debounce. Reported as
// ns/event (mean) and max-ns/event. Root only.
func BenchmarkEventLatency(b *testing.B) {
	l := newLab(b)
	m, err := New(WithNetNS(l.fd))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	c, err := rtnetlink.Dial(&netlink.Config{NetNS: l.fd})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	awaitPresence := func(b *testing.B, seen <-chan latencyEvent, present bool) time.Time {
		timeout := time.After(5 * time.Second)
		for {
			select {
			case e := <-seen:
				if e.present == present {
					return e.at
				}
			case <-timeout:
				b.Fatalf("no snapshot with the address present=%v within 5 s", present)
			}
		}
	}
	ip := netip.MustParseAddr("192.0.2.50")
	seen := make(chan latencyEvent, 16)
	m.Subscribe(func(s *Snapshot) {
		_, ok := s.Addr(ip)
		seen <- latencyEvent{time.Now(), ok}
	})
	msg := &rtnetlink.AddressMessage{
		Family: unix.AF_INET, PrefixLength: 24, Index: 100,
		Attributes: &rtnetlink.AddressAttributes{Address: net.IP(ip.AsSlice()), Local: net.IP(ip.AsSlice())},
	}
	var total, worst time.Duration
	n := 0
	for b.Loop() {
		add := n%2 == 0
		start := time.Now()
		if add {
			err = c.Address.New(msg)
		} else {
			err = c.Address.Delete(msg)
		}
		if err != nil {
			b.Fatal(err)
		}
		d := awaitPresence(b, seen, add).Sub(start)
		total, worst = total+d, max(worst, d)
		n++
		// Let the debounce's cooling window end, so each change is a first one.
		time.Sleep(DefaultDebounce + 10*time.Millisecond)
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(n), "ns/event")
	b.ReportMetric(float64(worst.Nanoseconds()), "max-ns/event")
}

func nopLogger() *zap.Logger { return zap.NewNop() }
