package probe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
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

// TestLockStuckNamesTheFile: a holder that keeps the lock (another process
// stuck, or the user's own flock) makes Share give up after lockStall, with
// an error that names the lock file, as every other lock error does (it was
// "lock wait timed out"). In a synctest bubble: the five seconds are fake.
func TestLockStuckNamesTheFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		lock := filepath.Join(dir, "pairs.json.lock")
		held, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		if ok, err := tryLock(held); !ok || err != nil {
			t.Skipf("cannot hold the lock here: %v, %v", ok, err)
		}
		err = NewStore().Share(filepath.Join(dir, "pairs.json"))
		if err == nil || !strings.Contains(err.Error(), lock+": still locked after") {
			t.Errorf("Share with the lock held elsewhere: %v; want %s: still locked after …", err, lock)
		}
	})
}
