package probe

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
)

// hostileSrc is the source of the hostile files' entries, an address of
// hostileHost: every valid entry is imported.
const hostileSrc = "2001:db8:a::10"

func hostileHost() *netstate.Snapshot {
	return &netstate.Snapshot{
		Generation: 1,
		Links:      []netstate.Link{{Index: 2, Name: "eth0", Up: true, Running: true}},
		Addrs: []netstate.Addr{{IP: netip.MustParseAddr(hostileSrc), Bits: 64, Index: 2, Interface: "eth0",
			PreferredLifetime: netstate.Forever, ValidLifetime: netstate.Forever}},
	}
}

// hostileFile returns a shared file of kind, shareMaxSize bytes or close below:
//
//	empty:  "{}" entries, as many as fit (2.8 million)
//	full:   shareMaxKeep valid entries, fresh, all under one /32, padded with an
//	        unknown member to fill the size: the most work an import can get
//	future: shareMaxKeep entries dated 50 years ahead, padded likewise
//	huge:   one entry whose "src" is one string of nearly the whole size
//	deep:   one entry nested in arrays as deep as fits
func hostileFile(kind string, now time.Time) []byte {
	var b bytes.Buffer
	b.WriteString(`{"format":"getapr-pairs","version":1,"pairs":[`)
	const tail = "]}"
	switch kind {
	case "empty":
		for b.Len()+3+len(tail) <= shareMaxSize {
			b.WriteString("{},")
		}
		b.WriteString("{}")
	case "full", "future":
		at := now
		if kind == "future" {
			at = now.AddDate(50, 0, 0)
		}
		ts := at.UTC().Format(time.RFC3339Nano)
		var e bytes.Buffer
		for i := range shareMaxKeep {
			e.Reset()
			fmt.Fprintf(&e, `{"src":%q,"dst":"2001:db8:%x:%x::1","srtt_ns":%d,"rttvar_ns":1000,"samples":1,"successes":1,"last_success":%q,"prefix":%q,"pad":"`,
				hostileSrc, i>>8, i&0xff, 1000+i, ts, netip.PrefixFrom(netip.MustParseAddr(hostileSrc), 64).Masked())
			pad := (shareMaxSize-b.Len()-len(tail))/(shareMaxKeep-i) - e.Len() - 3
			e.WriteString(strings.Repeat("x", max(pad, 0)))
			e.WriteString(`"}`)
			if i < shareMaxKeep-1 {
				e.WriteString(",")
			}
			b.Write(e.Bytes())
		}
	case "huge":
		b.WriteString(`{"src":"`)
		b.WriteString(strings.Repeat("1", shareMaxSize-b.Len()-len(tail)-3))
		b.WriteString(`"}`)
	case "deep":
		n := (shareMaxSize - b.Len() - len(tail)) / 2
		b.WriteString(strings.Repeat("[", n))
		b.WriteString(strings.Repeat("]", n))
	}
	b.WriteString(tail)
	return b.Bytes()
}

// TestHostileFiles checks what an import of each hostile file does.
func TestHostileFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 8 MiB files")
	}
	now := time.Now()
	for _, tc := range []struct {
		kind  string
		pairs int
	}{
		{"empty", 0}, {"full", DefaultMaxPairs}, {"future", 0}, {"huge", 0}, {"deep", 0},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			f := hostileFile(tc.kind, now)
			if len(f) > shareMaxSize || len(f) < shareMaxSize-64<<10 {
				t.Fatalf("file of %d bytes", len(f))
			}
			path := filepath.Join(t.TempDir(), "pairs.json")
			if err := os.WriteFile(path, f, 0o600); err != nil {
				t.Fatal(err)
			}
			s := NewStore()
			s.Observe(hostileHost())
			if err := s.Share(path); err != nil {
				t.Fatal(err)
			}
			if s.npairs != tc.pairs {
				t.Errorf("%d pairs learned, want %d", s.npairs, tc.pairs)
			}
		})
	}
}

// FuzzDecodeShared checks that whatever the file holds, decodeShared returns only
// entries a Store may learn, at most shareMaxKeep. The seed corpus is
// testdata/probe/share/*.json.
func FuzzDecodeShared(f *testing.F) {
	seeds, err := filepath.Glob("../testdata/probe/share/*.json")
	if err != nil || len(seeds) == 0 {
		f.Fatal("no seeds:", err)
	}
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, refused, err := decodeShared(bytes.NewReader(b), now)
		if err != nil && (len(entries) > 0 || refused > 0) {
			t.Fatalf("entries with an error: %d, %d, %v", len(entries), refused, err)
		}
		if len(entries)+refused > shareMaxKeep {
			t.Fatalf("%d entries and %d refused: over the cap", len(entries), refused)
		}
		for _, e := range entries {
			c, ok := e.checked(now)
			if !ok || c != e || !e.shareable(now) || e.updated().After(now) {
				t.Fatalf("entry %+v not acceptable", e)
			}
			if e.SRTT < 0 || e.SRTT > shareMaxRTT || e.Successes < e.Samples {
				t.Fatalf("entry %+v out of range", e)
			}
		}
	})
}

// heapPeak samples the heap's live objects every 100µs until stop is called, and
// returns the highest value seen.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	})
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// BenchmarkShareImportHostile merges a Store holding its default 4,096 pairs with
// each hostile file of 8 MiB while another goroutine asks Store.Pair as fast as
// it can, and a third Reports an outcome every 100µs (it needs the write lock).
// It reports, over all iterations: the heap's peak above its level before the
// merge (peak-MiB, sampled every 100µs) and the bytes allocated by the merge
// (alloc-MiB, an upper bound of the peak); Pair's latency (pair-p50-ns,
// pair-p99-ns, pair-max-ns) and Report's longest (report-max-ns) while the merge
// runs; and the longest hold of the Store's write lock by the import
// (hold-max-ns, measured on importBatch calls) and eviction (evict-ns: a Store
// of 4,097 pairs evicting down to 3,584), and of its read lock by the export
// (export-ns: it blocks Report, not Pair).
func BenchmarkShareImportHostile(b *testing.B) {
	now := time.Now()
	for _, kind := range []string{"empty", "full", "future", "huge", "deep"} {
		b.Run(kind, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "pairs.json")
			file := hostileFile(kind, now)
			var (
				pairLat, reportLat []time.Duration
				peak, alloc        uint64
				holdMax, exportMax time.Duration
			)
			for b.Loop() {
				b.StopTimer()
				if err := os.WriteFile(path, file, 0o600); err != nil {
					b.Fatal(err)
				}
				s := fullStore(DefaultMaxPairs, now.Add(-time.Minute))
				runtime.GC()
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				base, allocBefore := ms.HeapAlloc, ms.TotalAlloc
				stopPeak := heapPeak()
				done := make(chan struct{})
				var wg sync.WaitGroup
				src, dst := netip.MustParseAddr(hostileSrc), netip.MustParseAddr("2001:db8:ffff::1")
				var pl, rl []time.Duration
				wg.Go(func() { pl = pairLoop(s, src, dst, done) })
				wg.Go(func() { rl = reportLoop(s, src, done) })
				b.StartTimer()
				err := s.Share(path)
				b.StopTimer()
				close(done)
				wg.Wait()
				p := stopPeak()
				runtime.ReadMemStats(&ms)
				if err != nil {
					b.Fatal(err)
				}
				pairLat, reportLat = append(pairLat, pl...), append(reportLat, rl...)
				peak = max(peak, p-min(p, base))
				alloc = max(alloc, ms.TotalAlloc-allocBefore)
				h, e := importHolds(file, now)
				holdMax, exportMax = max(holdMax, h), max(exportMax, e)
				b.StartTimer()
			}
			slices.Sort(pairLat)
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(alloc)/(1<<20), "alloc-MiB")
			b.ReportMetric(float64(pct(pairLat, 50)), "pair-p50-ns")
			b.ReportMetric(float64(pct(pairLat, 99)), "pair-p99-ns")
			b.ReportMetric(float64(pct(pairLat, 100)), "pair-max-ns")
			b.ReportMetric(float64(slices.Max(append(reportLat, 0))), "report-max-ns")
			b.ReportMetric(float64(holdMax), "hold-max-ns")
			b.ReportMetric(float64(exportMax), "export-ns")
			b.ReportMetric(float64(evictTime()), "evict-ns")
		})
	}
}

// fullStore returns a Store of hostileHost holding max pairs of its own, updated
// at about t.
func fullStore(maxPairs int, t time.Time) *Store {
	s := NewStore(WithMaxPairs(maxPairs))
	s.Observe(hostileHost())
	for i := range maxPairs {
		s.Report(Outcome{
			Path:   Path{Src: netip.AddrPortFrom(netip.MustParseAddr(hostileSrc), 0), Dst: netip.AddrPortFrom(nthAddr(i), 80)},
			Result: Success, Start: t.Add(time.Duration(i) * time.Microsecond), Duration: 10 * time.Millisecond,
		})
	}
	return s
}

func nthAddr(i int) netip.Addr {
	b := netip.MustParseAddr("2001:db8:ffff::").As16()
	b[14], b[15] = byte(i>>8), byte(i)
	return netip.AddrFrom16(b)
}

// pairLoop calls Pair until done, and returns the latencies of every 16th call.
func pairLoop(s *Store, src, dst netip.Addr, done <-chan struct{}) []time.Duration {
	var out []time.Duration
	for i := 0; ; i++ {
		select {
		case <-done:
			return out
		default:
		}
		start := time.Now()
		s.Pair(src, dst)
		if d := time.Since(start); i%16 == 0 {
			out = append(out, d)
		}
	}
}

// reportLoop Reports an outcome every 100µs until done, and returns how long each
// Report took.
func reportLoop(s *Store, src netip.Addr, done <-chan struct{}) []time.Duration {
	var out []time.Duration
	o := Outcome{Path: Path{Src: netip.AddrPortFrom(src, 0), Dst: netip.AddrPortFrom(nthAddr(0), 80)},
		Result: Success, Duration: 10 * time.Millisecond}
	for {
		select {
		case <-done:
			return out
		case <-time.After(100 * time.Microsecond):
		}
		o.Start = time.Now()
		start := time.Now()
		s.Report(o)
		out = append(out, time.Since(start))
	}
}

// importHolds imports file's entries into a full Store as importShared does and
// returns the longest importBatch call (the longest hold of the write lock by an
// import) and the time ownShared takes (the hold of the read lock by the export).
func importHolds(file []byte, now time.Time) (hold, export time.Duration) {
	entries, _, err := decodeShared(bytes.NewReader(file), now)
	if err != nil {
		return 0, 0
	}
	s := fullStore(DefaultMaxPairs*7/8, now.Add(-time.Minute)) // room for 512
	s.maxPairs = DefaultMaxPairs
	runtime.GC()
	start := time.Now()
	s.ownShared(now)
	export = time.Since(start)
	slices.SortFunc(entries, func(a, b sharedPair) int { return b.updated().Compare(a.updated()) })
	var longest time.Duration
	for len(entries) > 0 {
		n := min(len(entries), shareImportBatch)
		start := time.Now()
		s.importBatch(entries[:n], now)
		longest = max(longest, time.Since(start))
		entries = entries[n:]
	}
	return longest, export
}

// evictTime returns the median time of 9 evictions of a Store of 4,097 pairs.
func evictTime() time.Duration {
	var ds []time.Duration
	for range 9 {
		s := fullStore(DefaultMaxPairs+1, time.Now())
		s.maxPairs = DefaultMaxPairs
		runtime.GC()
		start := time.Now()
		s.mu.Lock()
		s.evict()
		s.mu.Unlock()
		ds = append(ds, time.Since(start))
		if s.npairs != DefaultMaxPairs*7/8 {
			panic(fmt.Sprint("evict left ", s.npairs))
		}
	}
	return pct(slices.Sorted(slices.Values(ds)), 50)
}

// pct returns the p-th percentile of sorted d.
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)]
}

// BenchmarkEvict measures one eviction of a Store of 4,097 pairs (the default
// maximum and one) down to 3,584: the longest hold of the write lock by Report.
func BenchmarkEvict(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s := fullStore(DefaultMaxPairs+1, time.Now())
		s.maxPairs = DefaultMaxPairs
		runtime.GC()
		b.StartTimer()
		s.evict()
	}
}
