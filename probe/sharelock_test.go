package probe

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLockAbsentTicket takes tickets and never comes for them (a waiter that gave
// up or died), and puts the counters out of step (a lock file replaced): the next
// Share passes over them and gets the lock.
func TestLockAbsentTicket(t *testing.T) {
	for _, tc := range []struct {
		name       string
		next, serv uint64 // the dispenser's and the lock file's counters
	}{
		{"three absent tickets", 3, 0},
		{"lock file replaced", 57, 0},
		{"dispenser replaced", 0, 57},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, v := range map[string]uint64{"pairs.json.queue": tc.next, "pairs.json.lock": tc.serv} {
				f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE, 0o600)
				if err != nil {
					t.Fatal(err)
				}
				if err := setCounter(f, v); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			s := NewStore()
			start := time.Now()
			if err := s.Share(filepath.Join(dir, "pairs.json")); err != nil {
				t.Fatal(err)
			}
			t.Logf("Share took %v", time.Since(start))
			f, err := os.Open(filepath.Join(dir, "pairs.json.lock"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got, want := counter(f), max(tc.next, tc.serv)+1; got != want {
				t.Errorf("lock file counter = %d, want %d", got, want)
			}
		})
	}
}
