package pairs

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// deadSource is a probe.Store in which one more source is dead.
type deadSource struct {
	*probe.Store
	dead netip.Addr
}

func (d deadSource) Estimates(src netip.Addr, dsts []netip.Addr, now time.Time, out []probe.Estimate) probe.Health {
	h := d.Store.Estimates(src, dsts, now, out)
	if src == d.dead {
		return probe.Dead
	}
	return h
}

// benchInput returns a ranking input of n GUA sources (on n interfaces, eth0 to
// eth{n-1}) by n GUA destinations (in n/4 /32 prefixes), every pair routable, a
// third of them measured in a real probe.Store, one source dead.
func benchInput(n int) *rankInput { return shiftedInput(n, 0) }

// shiftedInput returns benchInput(n) with its destinations' prefixes moved by
// shift /32s and its measured latencies longer by shift milliseconds.
func shiftedInput(n, shift int) *rankInput {
	t := DefaultPolicyTable()
	snap := &netstate.Snapshot{Generation: 1}
	in := &rankInput{bias: DefaultIPv6Bias, dstPort: 443}
	for i := range n {
		name := "eth" + strconv.Itoa(i)
		a := netstate.Addr{IP: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i), 1, 15: 0x10}),
			Bits: 64, Index: i + 2, Interface: name}
		snap.Links = append(snap.Links, netstate.Link{Index: i + 2, Name: name, Up: true, Running: true})
		snap.Addrs = append(snap.Addrs, a)
		snap.Routes = append(snap.Routes, netstate.Route{Dst: netip.MustParsePrefix("::/0"), Index: i + 2})
		in.srcs = append(in.srcs, newSource(a, t))
		d := netip.AddrFrom16([16]byte{0x20, 0x01, byte(0x0d + shift), byte(i / 4), 0x80, byte(i), 15: 1})
		in.dsts = append(in.dsts, dest{attr: attrOf(d, t), class: netstate.GUA})
	}
	store := probe.NewStore()
	store.Observe(snap)
	now := time.Now()
	for si := range in.srcs {
		for di := range in.dsts {
			in.addCand(int32(si), int32(di), si%2 == 1)
			if (si+di)%3 == 0 {
				store.Report(probe.Outcome{
					Path:     probe.Path{Src: netip.AddrPortFrom(in.srcs[si].addr.IP, 0), Dst: netip.AddrPortFrom(in.dsts[di].attr.ip, 443)},
					Result:   probe.Success,
					Start:    now,
					Duration: time.Duration(10+si+di+shift) * time.Millisecond,
				})
			}
		}
	}
	in.k = deadSource{store, in.srcs[n-1].addr.IP}
	return in
}

func benchmarkRank(b *testing.B, n int) { benchmarkRankInput(b, benchInput(n), n) }

// benchmarkRankInput ranks in, of n sources by n destinations.
func benchmarkRankInput(b *testing.B, in *rankInput, n int) {
	var scratch workspaces // as a Selector keeps them
	b.ReportAllocs()
	for b.Loop() {
		ws := scratch.get()
		ps := rank(in, ws)
		scratch.put(ws)
		if len(ps) != n*n {
			b.Fatalf("%d pairs", len(ps))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*n), "ns/pair")
}

// BenchmarkRank16x16 ranks 16 sources by 16 destinations (target: at most 40 µs).
// The pairs are in the workspace's memory, as Attempts takes them (its racing
// order is a new slice).
func BenchmarkRank16x16(b *testing.B) { benchmarkRank(b, 16) }

// BenchmarkRank16x16Kept is BenchmarkRank16x16 with pairs of their own, as Get
// ranks them (rankInput.keep): one allocation.
func BenchmarkRank16x16Kept(b *testing.B) {
	in := benchInput(16)
	in.keep = true
	benchmarkRankInput(b, in, 16)
}

// BenchmarkRank32x32 ranks 32 sources by 32 destinations.
func BenchmarkRank32x32(b *testing.B) { benchmarkRank(b, 32) }

// BenchmarkRank64x64 ranks 64 sources by 64 destinations: the time per pair
// should be no more than at 16 × 16 (cost linear in the pairs).
func BenchmarkRank64x64(b *testing.B) { benchmarkRank(b, 64) }

// BenchmarkRankGrowth measures how the ranking's cost grows with its pairs, in
// the way BenchmarkDialAB compares dialers: each iteration ranks 16 × 16 sixteen
// times and 64 × 64 once (4,096 pairs each), which first alternating, so that
// both sizes share every moment of the machine and the same heap (both inputs
// live throughout). It reports the time per pair of each and their ratio, "x":
// at most 1 when the cost is linear in the pairs.
func BenchmarkRankGrowth(b *testing.B) {
	sizes := [2]int{16, 64}
	var ins [2]*rankInput
	for k, n := range sizes {
		ins[k] = benchInput(n)
	}
	var scratch workspaces
	var spent [2]time.Duration
	i := 0
	for b.Loop() {
		for k := range 2 {
			j := (i + k) % 2
			n := sizes[j]
			start := time.Now()
			for range 64 * 64 / (n * n) {
				ws := scratch.get()
				ps := rank(ins[j], ws)
				scratch.put(ws)
				if len(ps) != n*n {
					b.Fatalf("%d pairs", len(ps))
				}
			}
			spent[j] += time.Since(start)
		}
		i++
	}
	perPair := func(j int) float64 { return float64(spent[j].Nanoseconds()) / float64(i*64*64) }
	b.ReportMetric(perPair(0), "16x16-ns/pair")
	b.ReportMetric(perPair(1), "64x64-ns/pair")
	b.ReportMetric(perPair(1)/perPair(0), "x")
}

func benchmarkOrder(b *testing.B, n int) {
	ps := rank(benchInput(n), new(workspace))
	b.ReportAllocs()
	for b.Loop() {
		Order(ps, 1)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n*n), "ns/pair")
}

// BenchmarkOrder16x16 puts 256 ranked pairs in racing order.
func BenchmarkOrder16x16(b *testing.B) { benchmarkOrder(b, 16) }

// BenchmarkOrder64x64 puts 4096 ranked pairs in racing order.
func BenchmarkOrder64x64(b *testing.B) { benchmarkOrder(b, 64) }

// BenchmarkFirstGetStatic measures New, the first Get of a literal and Close over
// a Static watcher: the ranking available at start-up, without any I/O (target: at
// most 1 ms).
func BenchmarkFirstGetStatic(b *testing.B) {
	w := netstate.NewStatic(homeSnapshot())
	defer w.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := New(WithWatcher(w), WithoutProbing())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Get(ctx, "2001:db8:2::1", 443); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkFirstGetMonitor measures the first Get of a literal just after New with
// the host's real netstate Monitor and no probing. It reads the host (address,
// route and rule dumps) and asks the kernel for route decisions (RTM_GETROUTE):
// nothing is sent on any network. ns/op is New, the Get and Close;
// ns/first-get the Get alone, on average.
func BenchmarkFirstGetMonitor(b *testing.B) {
	ctx := context.Background()
	b.ReportAllocs()
	var gets time.Duration
	n := 0
	for b.Loop() {
		s, err := New(WithoutProbing())
		if err != nil {
			b.Skip("no netstate Monitor here:", err)
		}
		start := time.Now()
		_, err = s.Get(ctx, "2001:db8:2::1", 443)
		gets += time.Since(start)
		n++
		s.Close()
		if err != nil {
			if _, ok := err.(*NoPairError); !ok {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(gets.Nanoseconds())/float64(n), "ns/first-get")
}

// BenchmarkGetWarm measures Get of a literal once the route decisions are cached.
func BenchmarkGetWarm(b *testing.B) {
	s, _ := newTestSelector(b, homeSnapshot(), nil)
	ctx := context.Background()
	if _, err := s.Get(ctx, "2001:db8:2::1", 443); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "2001:db8:2::1", 443); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAttemptsWarm measures Attempts of a name (fake resolver, both families)
// once the route decisions are cached.
func BenchmarkAttemptsWarm(b *testing.B) {
	s, _ := newTestSelector(b, homeSnapshot(), fakeDNS{"server.test": {ip("2001:db8:2::1"), ip("198.51.100.1")}})
	ctx := context.Background()
	q := Query{Network: "tcp", Host: "server.test", Port: 443}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Attempts(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStatus measures Status.
func BenchmarkStatus(b *testing.B) {
	s, _ := newTestSelector(b, homeSnapshot(), nil)
	b.ReportAllocs()
	for b.Loop() {
		s.Status()
	}
}
