package netstate

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"

	"github.com/getapr/getapr/internal/isolate"
)

// manyRoutes is the size of a BGP router's table in the benchmarks below.
const manyRoutes = 100_000

// manyRoutesHost returns the isolate commands that build, in the child's own
// namespace, a router's host: veth d0 up (its peer d0p stays in the
// namespace) with 192.0.2.10/24, a default route
// via 192.0.2.1 and n /24 routes via 192.0.2.2 (from 20.0.0.0/24 on), as FRR
// or bird install a full table. The batch file lives in tb's temporary directory.
func manyRoutesHost(tb testing.TB, n int) [][]string {
	tb.Helper()
	var b strings.Builder
	b.WriteString("link add d0 type veth peer name d0p\nlink set d0p up\nlink set d0 up\naddr add 192.0.2.10/24 dev d0\n")
	b.WriteString("route add default via 192.0.2.1 dev d0\n")
	for i := range n {
		fmt.Fprintf(&b, "route add %s via 192.0.2.2 dev d0\n", manyRouteDst(i))
	}
	path := filepath.Join(tb.TempDir(), "routes")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return [][]string{{"ip", "-batch", path}}
}

// manyRouteDst is the destination of manyRoutesHost's route i: 20.0.0.0/24 + i.
func manyRouteDst(i int) netip.Prefix {
	a := 20<<24 + uint32(i)<<8
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), 0}), 24)
}

// inManyRoutesChild reports whether this is the isolate child of a
// many-routes benchmark; otherwise it has run the benchmark as that child.
func inManyRoutesChild(b *testing.B) bool {
	if !isolate.InChild() {
		isolate.Bench(b, isolate.Options{NewNetNS: true, Commands: manyRoutesHost(b, manyRoutes)})
		return false
	}
	return true
}

// BenchmarkManyRoutes measures a router's host, 100,000 routes in the main
// table, in a namespace of its own (root only): Dump builds one snapshot from
// the kernel; Change is one route added or removed, from the request to the
// subscriber's call with the new snapshot (the 5 ms quiet window of the
// default debounce included), allocations of the whole process counted.
func BenchmarkManyRoutes(b *testing.B) {
	b.Run("Dump", func(b *testing.B) {
		if !inManyRoutesChild(b) {
			return
		}
		be, err := newBackend(config{log: nopLogger()})
		if err != nil {
			b.Fatal(err)
		}
		defer be.close()
		b.ReportAllocs()
		defer reportPeakHeap(b)()
		for b.Loop() {
			s, _, err := be.dump()
			if err != nil {
				b.Fatal(err)
			}
			if len(s.Routes) < manyRoutes {
				b.Fatalf("%d routes, want %d", len(s.Routes), manyRoutes)
			}
		}
	})
	b.Run("Change", func(b *testing.B) {
		if !inManyRoutesChild(b) {
			return
		}
		benchRouteChanges(b)
	})
}

// benchRouteChanges adds and removes one route per iteration and waits for
// the snapshot that shows it.
func benchRouteChanges(b *testing.B) {
	m, err := New(WithLogger(nopLogger()))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	if n := len(m.Snapshot().Routes); n < manyRoutes {
		b.Fatalf("%d routes, want %d", n, manyRoutes)
	}
	c, err := rtnetlink.Dial(nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	dst := netip.MustParsePrefix("30.0.0.0/24")
	seen := make(chan bool, 16)
	m.Subscribe(func(s *Snapshot) { seen <- hasRoute(dst.String(), anyRoute)(s) })
	msg := &rtnetlink.RouteMessage{Family: unix.AF_INET, Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_STATIC,
		Scope: unix.RT_SCOPE_UNIVERSE, Type: unix.RTN_UNICAST, DstLength: uint8(dst.Bits()),
		Attributes: rtnetlink.RouteAttributes{Dst: dst.Addr().AsSlice(), Gateway: netip.MustParseAddr("192.0.2.3").AsSlice(), OutIface: uint32(linkIndex(b, "d0"))}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		add := i%2 == 0
		if add {
			err = c.Route.Add(msg)
		} else {
			err = c.Route.Delete(msg)
		}
		if err != nil {
			b.Fatal(err)
		}
		awaitRoute(b, seen, add)
		// Let the debounce's cooling window end, so each change is a first one.
		b.StopTimer()
		time.Sleep(DefaultDebounce + 10*time.Millisecond)
		b.StartTimer()
	}
}

// awaitRoute waits for a snapshot in which the benchmark's route is present
// or, when !present, absent.
func awaitRoute(b *testing.B, seen <-chan bool, present bool) {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got := <-seen:
			if got == present {
				return
			}
		case <-timeout:
			b.Fatalf("no snapshot with the route present=%v within 10 s", present)
		}
	}
}

// linkIndex returns the index of this namespace's interface name.
func linkIndex(tb testing.TB, name string) int {
	tb.Helper()
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		tb.Fatal(err)
	}
	return ifi.Index
}

// reportPeakHeap samples the heap's in-use spans (HeapInuse: objects and the
// free space of their spans) every 100 µs until the function it returns is
// called, which reports their high-water mark as peak-heap-B.
func reportPeakHeap(b *testing.B) func() {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
	inuse := func() uint64 {
		metrics.Read(samples)
		return samples[0].Value.Uint64() + samples[1].Value.Uint64()
	}
	stop, peak := make(chan struct{}), make(chan uint64)
	go func() {
		high := inuse()
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				high = max(high, inuse())
			case <-stop:
				peak <- max(high, inuse())
				return
			}
		}
	}()
	return func() {
		close(stop)
		b.ReportMetric(float64(<-peak), "peak-heap-B")
	}
}
