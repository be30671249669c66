package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"time"
)

// The lock on the shared file.
const (
	lockStall   = 5 * time.Second        // Share gives up when the lock's holder keeps it this long ...
	lockLimit   = 30 * time.Second       // ... or when it has waited this long
	lockAbsent  = 100 * time.Millisecond // the ticket served does not come for this long: skipped
	lockPoll    = time.Millisecond       // a waiter tries again about this often
	lockRetries = 3                      // lock files replaced under a waiter, at most
	lockSuffix  = ".lock"                // the lock file is the shared file's name with this
	queueSuffix = ".queue"               // and the ticket dispenser's with this
	counterAt   = 8                      // offset of the counter in both files
)

// errSkipped is a ticket passed over while its waiter was away.
var errSkipped = errors.New("ticket skipped")

// lock takes the exclusive lock of the shared file name: a lock on the file
// name+".lock", created if needed (mode 0600; given to the directory's owner when
// root creates it in another user's directory). A lock file that cannot be
// trusted (another user's, or writable by others) is replaced, and one with a
// wider mode than 0600 narrowed.
//
// Waiters are served in turn, a ticket lock: a waiter takes the next ticket from
// the counter in the file name+".queue" (locked for that moment only), and the
// lock file counts the tickets served; a waiter takes the lock when its ticket
// comes up and the lock is free, and counts its ticket served. A ticket that does
// not come for 100 ms while the lock is free (its waiter gave up, died or is not
// scheduled) is passed over by the next waiter to notice; a waiter passed over
// takes a new ticket. Both counters are 8 bytes at offset 8, beside the byte
// Windows locks (its locks keep others from reading what they cover). Tries
// come about every millisecond, jittered. lock gives up when one holder keeps the
// lock for five seconds (a merge takes milliseconds: that holder is stuck) or
// after waiting 30 seconds.
func (d *shareDir) lock(name string) (unlock func(), err error) {
	start := time.Now()
	for range lockRetries {
		unlock, again, err := d.lockOnce(name, start)
		if !again {
			return unlock, err
		}
	}
	return nil, fmt.Errorf("%s: replaced %d times while waiting for it", d.path(name+lockSuffix), lockRetries)
}

// lockOnce is one attempt of lock; again is set when the lock file was replaced
// while it was waited for.
func (d *shareDir) lockOnce(name string, start time.Time) (unlock func(), again bool, err error) {
	lname := name + lockSuffix
	q, err := d.openLock(name + queueSuffix)
	if err != nil {
		return nil, false, err
	}
	defer q.Close()
	m, err := d.openLock(lname)
	if err != nil {
		return nil, false, err
	}
	var floor uint64
	for {
		var t uint64
		if t, err = takeTicket(q, floor, start); err == nil {
			err = waitTurn(m, t, start)
		}
		if !errors.Is(err, errSkipped) || time.Since(start) >= lockLimit {
			break
		}
		floor = counter(m)
	}
	if err != nil {
		m.Close()
		if errors.Is(err, errSkipped) || errors.Is(err, errStuck) {
			err = fmt.Errorf("%s: still locked after %v: one holder kept it %v, or the wait passed %v",
				d.path(lname), time.Since(start).Round(time.Millisecond), lockStall, lockLimit)
		}
		return nil, false, err
	}
	// The lock counts only if the file is still the lock file: another process
	// may have replaced an untrusted one while this one waited.
	if fi, err := m.Stat(); err == nil {
		if at, err := d.root.Lstat(lname); err == nil && os.SameFile(fi, at) {
			return func() { unlockFile(m); m.Close() }, false, nil
		}
	}
	unlockFile(m)
	m.Close()
	return nil, true, nil
}

// errStuck is a wait that timed out; lockOnce words it.
var errStuck = errors.New("lock wait timed out")

// takeTicket returns the next ticket of the dispenser q, at least floor.
func takeTicket(q *os.File, floor uint64, start time.Time) (uint64, error) {
	for {
		ok, err := tryLock(q)
		if err != nil {
			return 0, err
		}
		if ok {
			t := max(counter(q), floor)
			err := setCounter(q, t+1)
			unlockFile(q)
			return t, err
		}
		// The dispenser is held for a read and a write: a holder that keeps it
		// this long is stuck.
		if time.Since(start) >= lockStall {
			return 0, errStuck
		}
		pause()
	}
}

// waitTurn waits until ticket t is served and then takes the lock m, counting t
// served. It returns errSkipped when t was passed over, errStuck when one holder
// kept m for lockStall or the wait passed lockLimit after start.
//
// While the ticket served is another's, the waiter looks whether m is free only
// once nobody was served for lockAbsent/2 (in the usual turns it never touches
// m); when it finds m free twice, lockAbsent apart, with nobody served in
// between, it passes over the tickets before its own.
func waitTurn(m *os.File, t uint64, start time.Time) error {
	seen, since := counter(m), time.Now()
	var free time.Time // when m was found free with nobody served since; zero if not
	for {
		now := time.Now()
		if c := counter(m); c != seen {
			seen, since, free = c, now, time.Time{}
		}
		if seen > t {
			return errSkipped
		}
		if seen == t || now.Sub(since) >= lockAbsent/2 {
			ok, err := tryLock(m)
			if err != nil {
				return err
			}
			if !ok {
				free = time.Time{}
			} else {
				// Read again under the lock: the counter moves only under it.
				switch c := counter(m); {
				case c == t, c == seen && !free.IsZero() && now.Sub(free) >= lockAbsent:
					if err := setCounter(m, t+1); err != nil {
						unlockFile(m)
						return err
					}
					return nil
				case c == seen && free.IsZero():
					free = now
				}
				unlockFile(m)
			}
		}
		if now.Sub(since) >= lockStall && free.IsZero() || now.Sub(start) >= lockLimit {
			return errStuck
		}
		pause()
	}
}

// pause waits about lockPoll, jittered so that no waiter's tries keep coming just
// after another's.
func pause() { time.Sleep(lockPoll/2 + rand.N(lockPoll)) }

// counter returns the counter of a lock file; 0 if it has none.
func counter(f *os.File) uint64 {
	var b [8]byte
	if n, _ := f.ReadAt(b[:], counterAt); n < len(b) {
		return 0
	}
	return binary.LittleEndian.Uint64(b[:])
}

func setCounter(f *os.File, v uint64) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	_, err := f.WriteAt(b[:], counterAt)
	return err
}
