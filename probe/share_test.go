package probe_test

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// sharing is a host with two GUA sources and a link-local one.
var sharing = host{
	addrs:  []string{"eth0 2001:db8:a::10/64", "eth0 fe80::10/64", "eth1 2001:db8:b::10/64"},
	gw6:    "fe80::1%eth0",
	routes: true,
}

func newSharingStore() *probe.Store {
	s := probe.NewStore()
	s.Observe(sharing.snap())
	return s
}

// fileEntry is one pair of the shared file, as far as the tests look.
type fileEntry struct {
	Src, Dst string
}

// readFile returns the shared file's format, version and pairs.
func readFile(t *testing.T, path string) (format string, version int, pairs []fileEntry) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Format  string      `json:"format"`
		Version int         `json:"version"`
		Pairs   []fileEntry `json:"pairs"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("shared file: %v\n%s", err, b)
	}
	return f.Format, f.Version, f.Pairs
}

func TestShareTwoStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "getapr", "pairs.json")
	s1, s2 := newSharingStore(), newSharingStore()
	now := time.Now()
	s1.Report(outcome(srcA, dstD, probe.Success, 30*time.Millisecond, now))
	s1.Report(outcome("fe80::10%eth0", "fe80::1%eth0", probe.Success, time.Millisecond, now))
	if err := s1.Share(path); err != nil {
		t.Fatal(err)
	}
	if err := s2.Share(path); err != nil {
		t.Fatal(err)
	}
	if ps, ok := s2.Pair(addr(srcA), addr(dstD)); !ok || ps.SRTT != 30*time.Millisecond {
		t.Errorf("second store's Pair = %+v, %v; want the first's measurement", ps, ok)
	}
	if _, ok := s2.Pair(addr("fe80::10%eth0"), addr("fe80::1%eth0")); ok {
		t.Error("a link-local pair was shared")
	}
	s2.Report(outcome(srcB, "2001:db8:e::1", probe.Refused, 50*time.Millisecond, time.Now()))
	if err := s2.Share(path); err != nil {
		t.Fatal(err)
	}
	if err := s1.Share(path); err != nil {
		t.Fatal(err)
	}
	if ps, ok := s1.Pair(addr(srcB), addr("2001:db8:e::1")); !ok || ps.SRTT != 50*time.Millisecond {
		t.Errorf("first store's Pair = %+v, %v; want the second's measurement", ps, ok)
	}
	format, version, pairs := readFile(t, path)
	if format != "getapr-pairs" || version != 1 || len(pairs) != 2 {
		t.Errorf("shared file: %q v%d %v", format, version, pairs)
	}
	for _, p := range pairs {
		if strings.HasPrefix(p.Src, "fe80") || strings.HasPrefix(p.Dst, "fe80") {
			t.Errorf("link-local pair written: %v", p)
		}
	}
	if runtime.GOOS != "windows" {
		for _, name := range []string{path, path + ".lock", filepath.Dir(path)} {
			fi, err := os.Stat(name)
			if err != nil {
				t.Fatal(err)
			}
			want := os.FileMode(0o600)
			if fi.IsDir() {
				want = 0o700 | os.ModeDir
			}
			if fi.Mode() != want {
				t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
			}
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestShareRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(target, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, link := range []string{"pairs.json", "other.json.lock"} {
		t.Run(link, func(t *testing.T) {
			if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
				t.Skip("no symbolic links here:", err)
			}
			s := newSharingStore()
			s.Report(outcome(srcA, dstD, probe.Success, time.Millisecond, time.Now()))
			err := s.Share(filepath.Join(dir, strings.TrimSuffix(link, ".lock")))
			if !errors.Is(err, probe.ErrSymlink) {
				t.Errorf("Share through a symlink: %v, want ErrSymlink", err)
			}
			if b, _ := os.ReadFile(target); string(b) != "precious" {
				t.Errorf("symlink target changed: %q", b)
			}
		})
	}
}

func TestShareIgnoresBadFile(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"corrupt", `{"format": "getapr-pairs", "version": 1, "pairs": [`},
		{"garbage", "\x00\x01binary"},
		{"foreign", `{"format": "something-else", "version": 1, "pairs": []}`},
		{"older version", `{"format": "getapr-pairs", "version": 0, "pairs": [{"src": "2001:db8:a::10", "dst": "2001:db8:d::9"}]}`},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pairs.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			s := newSharingStore()
			s.Report(outcome(srcA, dstD, probe.Success, time.Millisecond, time.Now()))
			if err := s.Share(path); err != nil {
				t.Fatalf("Share: %v", err)
			}
			if _, ok := s.Pair(addr(srcA), addr("2001:db8:d::9")); ok {
				t.Error("a pair was learned from a bad file")
			}
			format, version, pairs := readFile(t, path)
			if format != "getapr-pairs" || version != 1 || len(pairs) != 1 {
				t.Errorf("file not replaced: %q v%d %v", format, version, pairs)
			}
		})
	}
}

func TestShareDropsOld(t *testing.T) {
	now := time.Now().UTC()
	ts := func(ago time.Duration) string { return now.Add(-ago).Format(time.RFC3339Nano) }
	onA := networkJSON(sharing, srcA)
	content := `{"format": "getapr-pairs", "version": 1, "pairs": [
		{"src": "2001:db8:a::10", "dst": "2001:db8:d::1", "srtt_ns": 1000000, "samples": 1, "successes": 1, "last_success": "` + ts(2*time.Hour) + `"` + onA + `},
		{"src": "2001:db8:a::10", "dst": "2001:db8:e::1", "srtt_ns": 2000000, "samples": 1, "successes": 1, "last_success": "` + ts(10*time.Minute) + `"` + onA + `},
		{"src": "fe80::10%eth0", "dst": "fe80::1%eth0", "srtt_ns": 3000000, "samples": 1, "successes": 1, "last_success": "` + ts(time.Minute) + `"},
		{"src": "2001:db8:99::1", "dst": "2001:db8:e::1", "srtt_ns": 4000000, "samples": 1, "successes": 1, "last_success": "` + ts(time.Minute) + `"}
	]}`
	path := filepath.Join(t.TempDir(), "pairs.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newSharingStore()
	if err := s.Share(path); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src, dst string
		ok       bool
	}{
		{srcA, dstD, false},                        // older than an hour
		{srcA, "2001:db8:e::1", true},              // recent
		{"fe80::10%eth0", "fe80::1%eth0", false},   // link-local
		{"2001:db8:99::1", "2001:db8:e::1", false}, // not a source of this host
	}
	for _, tt := range tests {
		if _, ok := s.Pair(addr(tt.src), addr(tt.dst)); ok != tt.ok {
			t.Errorf("Pair(%s, %s) learned = %v, want %v", tt.src, tt.dst, ok, tt.ok)
		}
	}
	_, _, pairs := readFile(t, path)
	want := []fileEntry{{srcA, "2001:db8:e::1"}, {"2001:db8:99::1", "2001:db8:e::1"}}
	if len(pairs) != len(want) || pairs[0] != want[0] || pairs[1] != want[1] {
		t.Errorf("file pairs = %v, want %v (another host's kept, old and link-local dropped)", pairs, want)
	}
}

func TestSharerPeriodic(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pairs.json")
	synctest.Test(t, func(t *testing.T) {
		s1, s2 := newSharingStore(), newSharingStore()
		sh1, sh2 := probe.NewSharer(s1, path), probe.NewSharer(s2, path)
		synctest.Wait() // the first merges
		s1.Report(outcome(srcA, dstD, probe.Success, 30*time.Millisecond, time.Now()))
		time.Sleep(probe.ShareEveryMin - time.Second)
		synctest.Wait()
		if _, ok := s2.Pair(addr(srcA), addr(dstD)); ok {
			t.Error("merged before the period")
		}
		time.Sleep(2*probe.ShareEveryMax - probe.ShareEveryMin + time.Second)
		synctest.Wait()
		if _, ok := s2.Pair(addr(srcA), addr(dstD)); !ok {
			t.Error("not merged after two periods")
		}
		s2.Report(outcome(srcB, dstD, probe.Success, 40*time.Millisecond, time.Now()))
		if err := sh2.Close(); err != nil { // the last merge writes it
			t.Fatal(err)
		}
		if err := sh2.Close(); err != nil {
			t.Fatal("second Close:", err)
		}
		if err := sh1.Close(); err != nil { // and this one reads it
			t.Fatal(err)
		}
		if _, ok := s1.Pair(addr(srcB), addr(dstD)); !ok {
			t.Error("Close did not merge")
		}
	})
}

// TestShareKeepsMiddleboxVerdict checks that learning a pair from the shared
// file, where another process measured it more recently, keeps this
// process's own TLS evidence: the file carries none, and a middlebox seen
// on the pair is still there after the import.
func TestShareKeepsMiddleboxVerdict(t *testing.T) {
	path := filepath.Join(t.TempDir(), "getapr", "pairs.json")
	s1, s2 := newSharingStore(), newSharingStore()
	now := time.Now()
	s1.Report(outcome(srcA, dstD, probe.Success, 30*time.Millisecond, now.Add(-time.Second)))
	s1.Report(outcome(srcA, dstD, probe.Middlebox, 30*time.Millisecond, now.Add(-time.Second)))
	s2.Report(outcome(srcA, dstD, probe.Success, 20*time.Millisecond, now))
	for _, s := range []*probe.Store{s2, s1} {
		if err := s.Share(path); err != nil {
			t.Fatal(err)
		}
	}
	ps, ok := s1.Pair(addr(srcA), addr(dstD))
	if !ok || ps.SRTT != 20*time.Millisecond {
		t.Fatalf("first store's Pair = %+v, %v; want the second's newer measurement", ps, ok)
	}
	if !ps.Intercepted(now) {
		t.Errorf("after the import, the pair's middlebox verdict is gone: %+v", ps)
	}
	est := make([]probe.Estimate, 1)
	s1.Estimates(addr(srcA), []netip.Addr{addr(dstD)}, now, est)
	if est[0].MiddleboxUntil.IsZero() {
		t.Errorf("Estimates after the import: %+v, want the middlebox verdict", est[0])
	}
}

// TestShareKeepsNetworksApart checks that what a source learned on one network
// is not taken from the shared file on another where it has the same address:
// another router, or the same router address with another link-layer address
// (two home networks behind 192.168.1.1).
func TestShareKeepsNetworksApart(t *testing.T) {
	const dst = "198.51.100.1"
	onRouter := func(gw, hw string, gen uint64) *netstate.Snapshot {
		h := host{addrs: []string{"eth0 192.168.1.10/24"}, gw4: gw, routes: true, via: true}
		snap := h.snap()
		snap.Generation = gen
		snap.Neighbors = []netstate.Neighbor{{Index: 1, IP: addr(gw), HWAddr: hw, State: netstate.NeighReachable}}
		return snap
	}
	for _, tc := range []struct {
		name string
		b    *netstate.Snapshot
		same bool
	}{
		{"another router", onRouter("192.168.1.254", "02:00:00:00:00:01", 2), false},
		{"the same router address, another link-layer address", onRouter("192.168.1.1", "02:00:00:00:00:02", 2), false},
		{"the same network", onRouter("192.168.1.1", "02:00:00:00:00:01", 2), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pairs.json")
			s := probe.NewStore()
			s.Observe(onRouter("192.168.1.1", "02:00:00:00:00:01", 1))
			report(s, src4, dst, probe.Timeout)
			if err := s.Share(path); err != nil {
				t.Fatal(err)
			}
			// The host moves (or stays): the same process, and a new one.
			s.Observe(tc.b)
			s2 := probe.NewStore()
			s2.Observe(tc.b)
			for _, st := range []*probe.Store{s, s2} {
				if err := st.Share(path); err != nil {
					t.Fatal(err)
				}
				if _, ok := st.Pair(addr(src4), addr(dst)); ok != tc.same {
					t.Errorf("pair learned on the first network known: %v, want %v", ok, tc.same)
				}
			}
		})
	}
}

// TestShareOwnLongRTT: a pair whose only sample is a reset after 90 s of SYN
// retransmits has an SRTT of 90 s in the Store (samples up to 10 minutes); it is
// written within the file's range (a minute), so that readers take it.
func TestShareOwnLongRTT(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pairs.json")
	s1 := newSharingStore()
	s1.Report(outcome(srcA, dstD, probe.Refused, 90*time.Second, time.Now().Add(-90*time.Second)))
	if err := s1.Share(path); err != nil {
		t.Fatal(err)
	}
	s2 := newSharingStore()
	if err := s2.Share(path); err != nil {
		t.Fatal(err)
	}
	if ps, ok := s2.Pair(addr(srcA), addr(dstD)); !ok || ps.SRTT != time.Minute {
		t.Errorf("reader learned %v, SRTT %v; want the writer's pair, its SRTT clamped to 1m0s", ok, ps.SRTT)
	}
}

// TestShareOwnAfterClockStepBack: the wall clock was stepped back 5 minutes
// after s1 measured a pair (a result dated 5 minutes ahead stands for it); s1
// writes it dated now, so that readers take it.
func TestShareOwnAfterClockStepBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pairs.json")
	s1 := newSharingStore()
	s1.Report(outcome(srcA, dstD, probe.Success, 20*time.Millisecond, time.Now().Add(5*time.Minute)))
	for range 2 {
		if err := s1.Share(path); err != nil {
			t.Fatal(err)
		}
	}
	_, _, pairs := readFile(t, path)
	s2 := newSharingStore()
	if err := s2.Share(path); err != nil {
		t.Fatal(err)
	}
	if _, ok := s2.Pair(addr(srcA), addr(dstD)); len(pairs) != 1 || !ok {
		t.Errorf("%d entries written by s1, learned by s2: %v; want 1, true", len(pairs), ok)
	}
}

// TestShareLeavesNewerVersion checks that a file a newer version wrote is
// neither read nor replaced: two versions on one host would otherwise undo
// each other's merges.
func TestShareLeavesNewerVersion(t *testing.T) {
	content := `{"format": "getapr-pairs", "version": 2, "pairs": [{"src": "2001:db8:a::10", "dst": "2001:db8:d::9", "more": true}]}`
	path := filepath.Join(t.TempDir(), "pairs.json")
	writeShare(t, path, content)
	s := newSharingStore()
	s.Report(outcome(srcA, dstD, probe.Success, time.Millisecond, time.Now()))
	if err := s.Share(path); err == nil || !strings.Contains(err.Error(), "newer version") {
		t.Errorf("Share = %v, want an error saying the file is of a newer version", err)
	}
	if b, _ := os.ReadFile(path); string(b) != content {
		t.Errorf("the newer version's file was replaced: %s", b)
	}
}

// TestSharerWarnsOnce checks that a merge failing the same way each period (a
// newer version's file) is one warning, not one every few minutes, and that the
// end of the failure is said.
func TestSharerWarnsOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pairs.json")
	writeShare(t, path, `{"format": "getapr-pairs", "version": 2, "pairs": []}`)
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zap.DebugLevel)
		sh := probe.NewSharer(newSharingStore(), path, probe.WithShareLogger(zap.New(core)))
		time.Sleep(3 * probe.ShareEveryMax)
		synctest.Wait()
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		if err := sh.Close(); err != nil {
			t.Fatal(err)
		}
		warn, debug := logs.FilterMessage("sharing failed").Len(), logs.FilterMessage("sharing failed again").Len()
		if warn != 1 || debug < 2 || logs.FilterMessage("sharing works again").Len() != 1 {
			t.Errorf("%d warnings, %d debug repeats, %d recoveries; want 1, at least 2, 1", warn, debug,
				logs.FilterMessage("sharing works again").Len())
		}
	})
}
