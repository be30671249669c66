package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.uber.org/zap"
)

// The shared file's format.
const (
	shareFormat  = "getapr-pairs" // the file's "format" field
	shareVersion = 1              // the file's "version" field
	shareMaxAge  = time.Hour      // entries older than this are dropped
	shareMaxSize = 8 << 20        // a larger file is not read
	shareMaxKeep = 10000          // entries written at most, the most recent
	lockTries    = 200            // attempts to take the lock ...
	lockWait     = 10 * time.Millisecond
)

// ErrSymlink is returned by Share when the shared file or its lock file is a
// symbolic link: it is never followed.
var ErrSymlink = errors.New("shared file is a symbolic link")

// DefaultSharePath returns the shared file's usual place:
// os.UserCacheDir()/getapr/pairs.json.
func DefaultSharePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "getapr", "pairs.json"), nil
}

// shareFile is the shared file's content.
type shareFile struct {
	Format  string       `json:"format"`
	Version int          `json:"version"`
	Written time.Time    `json:"written"`
	Pairs   []sharedPair `json:"pairs"`
}

// sharedPair is one pair in the shared file. Durations are in nanoseconds.
type sharedPair struct {
	Src         netip.Addr    `json:"src"`
	Dst         netip.Addr    `json:"dst"`
	SRTT        time.Duration `json:"srtt_ns"`
	RTTVar      time.Duration `json:"rttvar_ns"`
	Samples     int           `json:"samples"`
	Successes   int           `json:"successes"`
	Failures    int           `json:"failures"`
	LastSuccess time.Time     `json:"last_success,omitzero"`
	LastFailure time.Time     `json:"last_failure,omitzero"`
}

type pairID struct{ src, dst netip.Addr }

func (e sharedPair) id() pairID { return pairID{e.Src, e.Dst} }

// updated is the time of the entry's last result.
func (e sharedPair) updated() time.Time {
	if e.LastFailure.After(e.LastSuccess) {
		return e.LastFailure
	}
	return e.LastSuccess
}

// shareable reports whether an entry may be shared at now: both addresses valid,
// of one family, not link-local, and a result within the last hour.
func (e sharedPair) shareable(now time.Time) bool {
	u := e.updated()
	return e.Src.IsValid() && e.Dst.IsValid() && e.Src.Is4() == e.Dst.Is4() &&
		!e.Src.IsLinkLocalUnicast() && !e.Dst.IsLinkLocalUnicast() &&
		!u.IsZero() && now.Sub(u) <= shareMaxAge
}

func (e sharedPair) stats() PairStats {
	return PairStats{
		SRTT: e.SRTT, RTTVar: e.RTTVar, Samples: e.Samples,
		Successes: e.Successes, Failures: e.Failures,
		LastSuccess: e.LastSuccess, LastFailure: e.LastFailure,
	}
}

// Share merges what s has learned with the shared file at path, now: it takes the
// file's lock (path + ".lock"), reads the file, learns the pairs of its own sources
// that the file knows more recently than s, and replaces the file (a temporary
// file renamed over it, mode 0600) with the union, each pair's most recent entry
// kept. Entries older than an hour are dropped and link-local pairs never written.
// A corrupt file, or one of another format or version, is logged and replaced. A
// symbolic link at path is refused with ErrSymlink. The directory is created (mode
// 0700) if needed.
func (s *Store) Share(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	unlock, err := lockShared(path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	entries, err := s.readShared(path)
	if err != nil {
		return err
	}
	now := time.Now()
	s.importShared(entries, now)
	return writeShared(path, s.exportShared(entries, now), now)
}

// lockShared takes the exclusive lock on the lock file, waiting up to two seconds.
func lockShared(name string) (unlock func(), err error) {
	f, err := openNoFollow(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for range lockTries {
		var ok bool
		if ok, err = tryLock(f); ok {
			return func() { unlockFile(f); f.Close() }, nil
		}
		if err != nil {
			break
		}
		time.Sleep(lockWait)
	}
	f.Close()
	if err == nil {
		err = fmt.Errorf("%s: still locked after %v", name, lockTries*lockWait)
	}
	return nil, err
}

// readShared returns the entries of the shared file; none when it does not exist or
// cannot be understood (logged).
func (s *Store) readShared(path string) ([]sharedPair, error) {
	f, err := openNoFollow(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkShared(f); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, shareMaxSize+1))
	if err != nil {
		return nil, err
	}
	var sf shareFile
	dec := json.NewDecoder(bytes.NewReader(b))
	switch err := dec.Decode(&sf); {
	case len(b) > shareMaxSize:
		s.log.Warn("shared file too large; ignored", zap.String("path", path))
	case err != nil:
		s.log.Warn("shared file corrupt; ignored", zap.String("path", path), zap.Error(err))
	case sf.Format != shareFormat || sf.Version != shareVersion:
		s.log.Warn("shared file of another format or version; ignored", zap.String("path", path),
			zap.String("format", sf.Format), zap.Int("version", sf.Version))
	default:
		return sf.Pairs, nil
	}
	return nil, nil
}

// checkShared refuses a shared file that is not a regular file of this user.
func checkShared(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", f.Name())
	}
	return checkOwner(f.Name(), fi)
}

// importShared learns the shareable entries of sources of the host that are more
// recent than what s knows. Health and flags are left alone: they are this
// process's own experience.
func (s *Store) importShared(entries []sharedPair, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		if !e.shareable(now) {
			continue
		}
		sc := s.sources[addrKey(e.Src)]
		if sc == nil {
			if s.snap != nil {
				continue // another host's, or an address gone
			}
			sc = s.addSource(addrKey(e.Src), now)
		}
		dst := addrKey(e.Dst)
		if p := sc.pairs[dst]; p != nil && !e.updated().After(p.updated) {
			continue
		}
		p := s.pairOf(sc, dst)
		p.stats, p.updated = e.stats(), e.updated()
		sc.setWorking(p, e.Successes > 0 && !e.LastFailure.After(e.LastSuccess))
	}
	s.evict()
}

// exportShared returns the union of the file's shareable entries and s's, the most
// recent of each pair, at most shareMaxKeep, in address order.
func (s *Store) exportShared(entries []sharedPair, now time.Time) []sharedPair {
	byID := make(map[pairID]sharedPair, len(entries))
	for _, e := range entries {
		if e.shareable(now) {
			if old, ok := byID[e.id()]; !ok || e.updated().After(old.updated()) {
				byID[e.id()] = e
			}
		}
	}
	s.mu.RLock()
	for _, sc := range s.sources {
		for _, p := range sc.pairs {
			e := sharedPair{
				Src: sc.addr, Dst: p.dst, SRTT: p.stats.SRTT, RTTVar: p.stats.RTTVar,
				Samples: p.stats.Samples, Successes: p.stats.Successes, Failures: p.stats.Failures,
				LastSuccess: p.stats.LastSuccess, LastFailure: p.stats.LastFailure,
			}
			if old, ok := byID[e.id()]; e.shareable(now) && (!ok || e.updated().After(old.updated())) {
				byID[e.id()] = e
			}
		}
	}
	s.mu.RUnlock()
	out := make([]sharedPair, 0, len(byID))
	for _, e := range byID {
		out = append(out, e)
	}
	if len(out) > shareMaxKeep {
		slices.SortFunc(out, func(a, b sharedPair) int { return b.updated().Compare(a.updated()) })
		out = out[:shareMaxKeep]
	}
	slices.SortFunc(out, func(a, b sharedPair) int {
		if c := a.Src.Compare(b.Src); c != 0 {
			return c
		}
		return a.Dst.Compare(b.Dst)
	})
	return out
}

// writeShared replaces the file at path with entries: written to a temporary file
// in the same directory (mode 0600), synced, then renamed over path.
func writeShared(path string, entries []sharedPair, now time.Time) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	enc := json.NewEncoder(tmp)
	if err := enc.Encode(shareFile{Format: shareFormat, Version: shareVersion, Written: now.UTC(), Pairs: entries}); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
