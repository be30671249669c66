package probe_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/getapr/getapr/probe"
)

// BenchmarkShareMerge measures one merge of a Store of 4,000 pairs with a file
// of the same 4,000 pairs: the time the lock is held, about.
func BenchmarkShareMerge(b *testing.B) {
	path := filepath.Join(b.TempDir(), "pairs.json")
	s := newSharingStore()
	for i := range 4000 {
		s.Report(outcome(srcA, fmt.Sprintf("2001:db8:%x::%x", i/500+1, i%500+1), probe.Success, time.Millisecond, time.Now()))
	}
	if err := s.Share(path); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.Share(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShareContention runs 8 writers, each a Store of 500 pairs, merging b.N
// times each with one file (4,000 pairs), back to back. It reports the merges that
// failed (failed/op, per writer's merge), and the median and longest time a merge
// took, lock wait included (p50-ms, max-ms). Run with -benchtime 300x for the
// issue's 8 writers x 300 merges.
func BenchmarkShareContention(b *testing.B) {
	const writers, entries = 8, 500
	path := filepath.Join(b.TempDir(), "pairs.json")
	stores := make([]*probe.Store, writers)
	for w := range stores {
		stores[w] = newSharingStore()
		for i := range entries {
			stores[w].Report(outcome(srcA, fmt.Sprintf("2001:db8:%x::%x", w+1, i+1), probe.Success, time.Millisecond, time.Now()))
		}
	}
	var (
		mu     sync.Mutex
		took   []time.Duration
		failed int
	)
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, s := range stores {
		wg.Go(func() {
			for range b.N {
				start := time.Now()
				err := s.Share(path)
				d := time.Since(start)
				mu.Lock()
				took = append(took, d)
				if err != nil {
					failed++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(took)
	b.ReportMetric(float64(failed)/float64(b.N), "failed/op")
	b.ReportMetric(float64(took[len(took)/2])/1e6, "p50-ms")
	b.ReportMetric(float64(took[len(took)-1])/1e6, "max-ms")
}
