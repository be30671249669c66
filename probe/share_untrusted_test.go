package probe_test

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getapr/getapr/probe"
)

// shareDoc is a shared file with the given entries (JSON objects).
func shareDoc(entries ...string) string {
	return `{"format": "getapr-pairs", "version": 1, "pairs": [` + strings.Join(entries, ",\n") + `]}`
}

// entry is one shared pair learned on the sharing host's network, successful at
// t, with the given SRTT; extra is added to its JSON object (e.g. `,
// "samples": -1` to override).
func entry(src, dst string, srtt time.Duration, t time.Time, extra string) string {
	return entryOn(sharing, src, dst, srtt, t, extra)
}

// entryOn is entry, learned on the network of src on h (none when h has no
// such address).
func entryOn(h host, src, dst string, srtt time.Duration, t time.Time, extra string) string {
	return fmt.Sprintf(`{"src": %q, "dst": %q, "srtt_ns": %d, "rttvar_ns": %d, "samples": 1, "successes": 1, "last_success": %q%s%s}`,
		src, dst, srtt, srtt/2, t.UTC().Format(time.RFC3339Nano), networkJSON(h, src), extra)
}

// networkJSON returns the members that say on which network of h the source
// src is, as a Store writes them.
func networkJSON(h host, src string) string {
	ip, err := netip.ParseAddr(src)
	if err != nil {
		return ""
	}
	snap := h.snap()
	a, ok := snap.Addr(ip)
	if !ok {
		return ""
	}
	n := snap.NetworkOf(a)
	out := fmt.Sprintf(`, "prefix": %q`, n.Prefix)
	if n.Router.IsValid() {
		out += fmt.Sprintf(`, "router": %q`, n.Router)
	}
	if n.HWAddr != "" {
		out += fmt.Sprintf(`, "router_hw": %q`, n.HWAddr)
	}
	return out
}

func writeShare(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestShareRefusesBadValues imports one crafted entry at a time: each is refused
// (nothing learned, not written back) unless it is acceptable.
func TestShareRefusesBadValues(t *testing.T) {
	now := time.Now()
	const dst4 = "192.0.2.1"
	v4 := host{addrs: []string{"eth0 192.0.2.10/24", "eth0 2001:db8:a::10/64"}}
	tests := []struct {
		name     string
		src, dst string
		srtt     time.Duration
		at       time.Time
		extra    string
		ok       bool
	}{
		{"acceptable", srcA, dstD, 30 * time.Millisecond, now, "", true},
		{"a little ahead: clamped", srcA, dstD, 30 * time.Millisecond, now.Add(30 * time.Second), "", true},
		{"50 years ahead", srcA, dstD, time.Nanosecond, now.AddDate(50, 0, 0), "", false},
		{"negative SRTT", srcA, dstD, -time.Millisecond, now, "", false},
		{"huge SRTT", srcA, dstD, math.MaxInt64, now, "", false},
		{"1ns SRTT", srcA, dstD, time.Nanosecond, now, "", false},
		{"SRTT without samples", srcA, dstD, time.Millisecond, now, `, "samples": 0`, false},
		{"negative RTTVAR", srcA, dstD, time.Millisecond, now, `, "rttvar_ns": -1`, false},
		{"negative samples", srcA, dstD, time.Millisecond, now, `, "samples": -1`, false},
		{"more samples than successes", srcA, dstD, time.Millisecond, now, `, "samples": 5`, false},
		{"huge successes", srcA, dstD, time.Millisecond, now, `, "successes": 9223372036854775807`, false},
		{"negative failures", srcA, dstD, time.Millisecond, now, `, "failures": -3`, false},
		{"failures without a time", srcA, dstD, time.Millisecond, now, `, "failures": 3`, false},
		{"multicast destination", srcA, "ff02::1", time.Millisecond, now, "", false},
		{"unspecified destination", srcA, "::", time.Millisecond, now, "", false},
		{"loopback destination", srcA, "::1", time.Millisecond, now, "", false},
		{"IPv4-mapped destination", srcA, "::ffff:192.0.2.1", time.Millisecond, now, "", false},
		{"zone on a global address", srcA, "2001:db8:d::1%eth0", time.Millisecond, now, "", false},
		{"zone on the source", srcA + "%eth0", dstD, time.Millisecond, now, "", false},
		{"families differ", "192.0.2.10", dstD, time.Millisecond, now, "", false},
		{"IPv4 acceptable", "192.0.2.10", dst4, time.Millisecond, now, "", true},
		{"IPv4 broadcast", "192.0.2.10", "255.255.255.255", time.Millisecond, now, "", false},
		{"IPv4 loopback", "192.0.2.10", "127.0.0.1", time.Millisecond, now, "", false},
		{"prefix without the source", srcA, dstD, time.Millisecond, now, `, "prefix": "2001:db8:ff::/64"`, false},
		{"router of the other family", srcA, dstD, time.Millisecond, now, `, "router": "192.0.2.1"`, false},
		{"multicast router", srcA, dstD, time.Millisecond, now, `, "router": "ff02::2"`, false},
		{"router link-layer address not hex", srcA, dstD, time.Millisecond, now, `, "router_hw": "<b>"`, false},
		{"router link-layer address too long", srcA, dstD, time.Millisecond, now, `, "router_hw": "` + strings.Repeat("0", 60) + `"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pairs.json")
			writeShare(t, path, shareDoc(entryOn(v4, tt.src, tt.dst, tt.srtt, tt.at, tt.extra)))
			s := probe.NewStore()
			s.Observe(v4.snap())
			if err := s.Share(path); err != nil {
				t.Fatal(err)
			}
			src, dst := addr(strings.Split(tt.src, "%")[0]), addr(tt.dst)
			ps, learned := s.Pair(src, dst)
			if learned != tt.ok {
				t.Errorf("learned = %v (%+v), want %v", learned, ps, tt.ok)
			}
			if learned && ps.LastSuccess.After(time.Now()) {
				t.Errorf("LastSuccess %v is in the future", ps.LastSuccess)
			}
			if _, _, pairs := readFile(t, path); len(pairs) != map[bool]int{true: 1}[tt.ok] {
				t.Errorf("written back: %v", pairs)
			}
		})
	}
}

// TestShareFutureDoesNotWin checks that an entry dated 50 years ahead neither
// replaces a real measurement nor spreads through the file.
func TestShareFutureDoesNotWin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pairs.json")
	writeShare(t, path, shareDoc(entry(srcA, dstD, time.Nanosecond, time.Now().AddDate(50, 0, 0), "")))
	s := newSharingStore()
	s.Report(outcome(srcA, dstD, probe.Success, 40*time.Millisecond, time.Now()))
	if err := s.Share(path); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.Pair(addr(srcA), addr(dstD)); ps.SRTT != 40*time.Millisecond {
		t.Errorf("SRTT = %v, want the real 40ms", ps.SRTT)
	}
	s2 := newSharingStore()
	if err := s2.Share(path); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s2.Pair(addr(srcA), addr(dstD)); ps.SRTT != 40*time.Millisecond {
		t.Errorf("another store learned SRTT %v, want 40ms", ps.SRTT)
	}
}

// TestShareImportKeepsOwnPairs fills a Store with its own measurements, then
// imports a full file of fresher entries: none of its own pairs is evicted,
// neither by the import nor by the evictions of later reports.
func TestShareImportKeepsOwnPairs(t *testing.T) {
	const n = 1000
	s := probe.NewStore(probe.WithMaxPairs(n))
	s.Observe(sharing.snap())
	start := time.Now().Add(-30 * time.Minute)
	own := func(i int) string { return fmt.Sprintf("2001:db8:d::%x", i+1) }
	for i := range n {
		s.Report(outcome(srcA, own(i), probe.Success, 20*time.Millisecond, start.Add(time.Duration(i)*time.Millisecond)))
	}
	var entries []string
	for i := range 10000 {
		entries = append(entries, entry(srcA, fmt.Sprintf("2001:db8:e::%x", i+1), time.Millisecond, time.Now(), ""))
	}
	path := filepath.Join(t.TempDir(), "pairs.json")
	writeShare(t, path, shareDoc(entries...))
	if err := s.Share(path); err != nil {
		t.Fatal(err)
	}
	count := func() (kept int) {
		for i := range n {
			if _, ok := s.Pair(addr(srcA), addr(own(i))); ok {
				kept++
			}
		}
		return kept
	}
	if kept := count(); kept != n {
		t.Errorf("%d of %d own pairs kept after the import, want all", kept, n)
	}
	// A Store that has room learns the file's entries, the most recent first; a
	// Store's later evictions drop imported pairs before its own.
	s2 := probe.NewStore(probe.WithMaxPairs(2 * n))
	s2.Observe(sharing.snap())
	for i := range n {
		s2.Report(outcome(srcA, own(i), probe.Success, 20*time.Millisecond, start.Add(time.Duration(i)*time.Millisecond)))
	}
	if err := s2.Share(path); err != nil {
		t.Fatal(err)
	}
	for i := range n / 2 {
		s2.Report(outcome(srcB, own(i), probe.Success, 20*time.Millisecond, time.Now()))
	}
	for i := range n {
		if _, ok := s2.Pair(addr(srcA), addr(own(i))); !ok {
			t.Fatalf("own pair %s evicted while imported pairs remained", own(i))
		}
	}
}

// TestShareContention runs 8 writers of 300 merges each on one file (100 with the
// race detector, 30 with -short): none may fail to take the lock.
func TestShareContention(t *testing.T) {
	writers, merges, entries := 8, 300, 20
	switch {
	case testing.Short():
		merges = 30
	case raceEnabled:
		merges = 100
	}
	path := filepath.Join(t.TempDir(), "pairs.json")
	var wg sync.WaitGroup
	errs := make(chan error, writers*merges)
	for w := range writers {
		s := newSharingStore()
		for i := range entries {
			s.Report(outcome(srcA, fmt.Sprintf("2001:db8:%x::%x", w+1, i+1), probe.Success, time.Millisecond, time.Now()))
		}
		wg.Go(func() {
			for range merges {
				if err := s.Share(path); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 3 {
			t.Error(err)
		}
	}
	if n > 0 {
		t.Errorf("%d of %d merges failed", n, writers*merges)
	}
	if _, _, pairs := readFile(t, path); len(pairs) != writers*entries {
		t.Errorf("file holds %d pairs, want %d", len(pairs), writers*entries)
	}
}
