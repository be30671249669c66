//go:build unix

package pairs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestStopDoesNotHoldRankings checks that while a stop's last merge of the
// shared file waits for another process's lock, rankings go on: they neither
// wait for the merge nor ignore their context.
func TestStopDoesNotHoldRankings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared")
	s, _ := newTestSelector(t, homeSnapshot(), fakeDNS{}, WithSharing(path))
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil { // another process's merge
		t.Fatal(err)
	}
	suspended := make(chan struct{})
	go func() {
		defer close(suspended)
		s.Suspend()
	}()
	for s.life.running.Load() != nil { // not running(), which takes the lock
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the stop is in its last merge, waiting for the lock
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	if _, err := s.Get(ctx, "192.0.2.1", 80); err != nil {
		t.Fatalf("Get during the stop: %v", err)
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("Get took %v while the stop waited for the shared file's lock", took)
	}
	select {
	case <-suspended:
		t.Log("the stop ended before the lock was released: nothing was shown")
	default:
	}
	unix.Flock(int(lock.Fd()), unix.LOCK_UN)
	<-suspended
}
