package probe

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// The shared file's format and limits.
const (
	shareFormat      = "getapr-pairs"   // the file's "format" field
	shareVersion     = 1                // the file's "version" field
	shareMaxAge      = time.Hour        // entries older than this are dropped
	shareMaxSize     = 8 << 20          // a larger file is not read
	shareMaxKeep     = 10000            // entries written at most (the most recent) and read at most
	shareSkew        = time.Minute      // an entry dated later than now by more is refused; by less, dated now
	shareMinRTT      = time.Microsecond // the range of an SRTT ...
	shareMaxRTT      = time.Minute      // ... and of an RTTVAR (from 0)
	shareMaxCount    = 1<<31 - 1        // samples, successes, failures at most
	shareImportBatch = 256              // entries imported per hold of the Store's lock
	shareMaxValue    = 64 << 10         // bytes of one entry, key or member value at most
)

// ErrSymlink is returned by Share when the shared file, its lock file or their
// directory is a symbolic link: none is ever followed.
var ErrSymlink = errors.New("shared file is a symbolic link")

// errShareFormat is a shared file of another format or version.
var errShareFormat = errors.New("another format or version")

// errShareNewer is a shared file of this format written by a newer version:
// Share leaves it alone (that version reads this one's files; replacing its
// file would make two versions on one host undo each other's merges).
var errShareNewer = errors.New("shared file of a newer version; left alone")

// errShareValue is a shared file with a value longer than shareMaxValue.
var errShareValue = fmt.Errorf("a value longer than %d bytes", shareMaxValue)

// DefaultSharePath returns the shared file's usual place:
// os.UserCacheDir()/getapr/pairs.json.
func DefaultSharePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "getapr", "pairs.json"), nil
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
	// The network the source was on (netstate.Network): what is learned on
	// one network is not taken on another where the source has the same
	// address (a private address on two home networks). Absent from older
	// writers' entries, which then match no source on a network.
	Router   netip.Addr   `json:"router,omitzero"`
	RouterHW string       `json:"router_hw,omitempty"`
	Prefix   netip.Prefix `json:"prefix,omitzero"`
}

// shareMaxHW is the longest router link-layer address text accepted (20
// bytes, as InfiniBand's, in hex with colons).
const shareMaxHW = 59

type pairID struct {
	src, dst netip.Addr
	network  netstate.Network
}

func (e sharedPair) id() pairID { return pairID{e.Src, e.Dst, e.network()} }

// network returns the network the entry was learned on.
func (e sharedPair) network() netstate.Network {
	return netstate.Network{Router: e.Router, HWAddr: e.RouterHW, Prefix: e.Prefix}
}

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
// file's lock (path + ".lock"), reads the file, replaces it (a temporary file
// renamed over it, mode 0600) with the union of its entries and s's, each pair's
// most recent entry kept, releases the lock, and then learns the pairs of its own
// sources that the file knows more recently than s. Entries older than an hour are
// dropped, link-local pairs never written, at most 10,000 entries written (the
// most recent) and read.
//
// Each entry names the network its source was on (its router, the router's
// link-layer address, its prefix: see netstate.Network): a source learns only
// the entries of the network it is on now, so that a private address used on
// two networks does not carry one's verdicts to the other.
//
// The file is data from another process: it is read entry by entry, and an entry
// is refused unless both addresses are unicast (not loopback, link-local,
// multicast, unspecified or reserved), of one family, without zone, IPv4 not
// mapped into IPv6; its router, if any, unicast and of the source's family (or
// IPv6, RFC 8950), its
// prefix, if any, holding the source; its SRTT within 1µs to 1 minute (0
// without samples), RTTVAR within 0 to 1 minute, counts within 0 to 2^31-1
// with no more samples than successes, and its times no later than a minute
// from now (later by less: taken as now). A Store writes its own pairs within
// these bounds (times later than now as now, RTTs clamped). An import never
// evicts a pair to make room, and the pairs it adds are the first to go when
// the Store evicts. A file that is corrupt, of another format or an older
// version, larger than 8 MiB, or not trusted (another user's, or writable by
// group or others) is logged, not read, and replaced; a file of a newer version
// is neither read nor replaced (an error).
//
// The directory is created (mode 0700) if needed. Share refuses, with an error and
// without creating the lock file: a symbolic link at path, at the lock or at the
// directory (ErrSymlink); anything but a regular file at path or at the lock (a
// FIFO, socket or device is never opened); a directory of another user, or one
// writable by group or others (sticky or not; on Unix). A lock file that cannot be
// trusted is replaced. Run as root in another user's directory, Share gives the
// files it creates to the directory's owner. Waiters for the lock are served in
// turn (a ticket lock, with path + ".queue"); Share gives up when one holder keeps
// the lock for five seconds (a merge takes milliseconds: that holder is stuck),
// or after waiting 30 seconds.
func (s *Store) Share(path string) error {
	path = filepath.Clean(path)
	d, err := openShareDir(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.close()
	name := filepath.Base(path)
	if _, err := d.stat(name); err != nil {
		return err
	}
	unlock, err := d.lock(name)
	if err != nil {
		return err
	}
	now := time.Now()
	entries, err := s.readShared(d, name, now)
	if err != nil {
		unlock()
		return fmt.Errorf("%s: %w", path, err)
	}
	err = d.write(name, s.exportShared(entries, now), now)
	unlock()
	if err != nil {
		return err
	}
	s.importShared(entries, now)
	return nil
}

// readShared returns the acceptable entries of the shared file; none when it does
// not exist or cannot be read, understood or trusted (logged). The error is
// errShareNewer for a file a newer version wrote, which is not to be replaced.
func (s *Store) readShared(d *shareDir, name string, now time.Time) ([]sharedPair, error) {
	f, fi, err := d.open(name, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	path := zap.String("path", d.path(name))
	if err != nil {
		s.log.Warn("shared file not readable; replaced", path, zap.Error(err))
		return nil, nil
	}
	defer f.Close()
	if ok, why := trusted(fi, d.fi); !ok {
		s.log.Warn("shared file not trusted; ignored and replaced", path, zap.String("why", why))
		return nil, nil
	}
	if fi.Size() > shareMaxSize {
		s.log.Warn("shared file too large; ignored", path, zap.Int64("size", fi.Size()))
		return nil, nil
	}
	entries, refused, err := decodeShared(io.LimitReader(f, shareMaxSize), now)
	switch {
	case errors.Is(err, errShareNewer):
		return nil, err
	case errors.Is(err, errShareFormat):
		s.log.Warn("shared file of another format or version; ignored", path)
		return nil, nil
	case err != nil:
		s.log.Warn("shared file corrupt; ignored", path, zap.Error(err))
		return nil, nil
	case refused > 0:
		s.log.Warn("shared file entries refused", path, zap.Int("refused", refused), zap.Int("kept", len(entries)))
	}
	return entries, nil
}

// decodeShared reads a shared file from r, one entry at a time, and returns its
// acceptable entries, at most shareMaxKeep read; refused counts those that were not
// (old ones are dropped without counting). The object's "format" and "version"
// must come before its "pairs" (errShareFormat otherwise, as for another format
// or version); other members are skipped.
func decodeShared(r io.Reader, now time.Time) (entries []sharedPair, refused int, err error) {
	w := &window{r: r}
	dec := json.NewDecoder(w)
	w.dec = dec
	w.next()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, 0, err
	}
	var format rawIs
	version := 0
	for dec.More() {
		w.next()
		key, err := dec.Token()
		if err != nil {
			return nil, 0, err
		}
		switch key {
		case "format":
			format.want = `"` + shareFormat + `"`
			err = dec.Decode(&format)
		case "version":
			err = dec.Decode(&version)
		case "pairs":
			if err := checkFormat(format.is, version); err != nil {
				return nil, 0, err
			}
			return decodeSharedPairs(dec, w, now)
		default:
			w.next()
			err = dec.Decode(new(rawIs))
		}
		if err != nil {
			return nil, 0, err
		}
	}
	if err := checkFormat(format.is, version); err != nil {
		return nil, 0, err
	}
	return nil, 0, expectDelim(dec, '}')
}

// checkFormat says whether a file of this format (or not) and version can be
// read: errShareNewer for a newer version, errShareFormat for another format or
// an older version.
func checkFormat(ours bool, version int) error {
	switch {
	case ours && version > shareVersion:
		return errShareNewer
	case !ours || version != shareVersion:
		return errShareFormat
	}
	return nil
}

// decodeSharedPairs reads the "pairs" array, one entry at a time, up to
// shareMaxKeep entries; the rest of the file is not read. An array cut short
// (a writer killed mid-write, a full disk) is an error: the file is corrupt.
func decodeSharedPairs(dec *json.Decoder, w *window, now time.Time) (entries []sharedPair, refused int, err error) {
	if err := expectDelim(dec, '['); err != nil {
		return nil, 0, err
	}
	for n := 0; n < shareMaxKeep && dec.More(); n++ {
		w.next()
		var e sharedPair
		if err := dec.Decode(&e); err != nil {
			return nil, 0, err
		}
		switch e, ok := e.checked(now); {
		case !ok:
			refused++
		case e.shareable(now):
			entries = append(entries, e)
		}
	}
	// More is false at the array's end, and also at an error (a file cut
	// short): only the end is a whole array. After shareMaxKeep entries, more
	// (which no writer writes) are not read.
	if w.next(); !dec.More() {
		if err := expectDelim(dec, ']'); err != nil {
			return nil, 0, err
		}
	}
	return entries, refused, nil
}

// window is the shared file as a json.Decoder reads it: never more than
// shareMaxValue bytes past the decoder's position when next was last called, so
// that one long value cannot make the decoder buffer the whole file (it fails
// with errShareValue instead).
type window struct {
	r     io.Reader
	dec   *json.Decoder
	read  int64 // bytes read from r
	limit int64 // read no further
}

// next lets the decoder read one more value of up to shareMaxValue bytes.
func (w *window) next() { w.limit = w.dec.InputOffset() + shareMaxValue }

func (w *window) Read(p []byte) (int, error) {
	if w.read >= w.limit {
		return 0, errShareValue
	}
	if int64(len(p)) > w.limit-w.read {
		p = p[:w.limit-w.read]
	}
	n, err := w.r.Read(p)
	w.read += int64(n)
	return n, err
}

// rawIs is a JSON value compared, without being copied, with the JSON text want;
// with an empty want it skips any value.
type rawIs struct {
	want string
	is   bool
}

func (r *rawIs) UnmarshalJSON(b []byte) error {
	r.is = r.want != "" && string(b) == r.want
	return nil
}

// checked returns e with its times clamped to now, and whether e is acceptable at
// now (see Share).
func (e sharedPair) checked(now time.Time) (sharedPair, bool) {
	ok := sharedAddr(e.Src) && sharedAddr(e.Dst) && e.Src.Is4() == e.Dst.Is4() &&
		inRange(e.Samples, 0, e.Successes) && inRange(e.Successes, 0, shareMaxCount) &&
		inRange(e.Failures, 0, shareMaxCount) &&
		(e.Successes == 0 || !e.LastSuccess.IsZero()) && (e.Failures == 0 || !e.LastFailure.IsZero())
	if e.Samples == 0 {
		ok = ok && e.SRTT == 0 && e.RTTVar == 0
	} else {
		ok = ok && inRange(e.SRTT, shareMinRTT, shareMaxRTT) && inRange(e.RTTVar, 0, shareMaxRTT)
	}
	ok = ok && (!e.Router.IsValid() || e.Router.Zone() == "" && (e.Router.Is4() == e.Src.Is4() || e.Router.Is6()) &&
		netstate.Classify(e.Router) != netstate.NotSource) // an IPv4 route may go via IPv6 (RFC 8950)
	ok = ok && (!e.Prefix.IsValid() || e.Prefix.Addr().Zone() == "" && e.Prefix.Contains(e.Src))
	ok = ok && len(e.RouterHW) <= shareMaxHW && !strings.ContainsFunc(e.RouterHW, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F' || r == ':' || r == '-' || r == '.')
	})
	var okS, okF bool
	e.LastSuccess, okS = clampTime(e.LastSuccess, now)
	e.LastFailure, okF = clampTime(e.LastFailure, now)
	return e, ok && okS && okF
}

// sharedAddr reports whether a may be an address of a shared pair: unicast, not
// loopback nor link-local nor reserved (see reserved6), without zone, IPv4 not
// mapped into IPv6.
func sharedAddr(a netip.Addr) bool {
	if a.Zone() != "" {
		return false
	}
	switch netstate.Classify(a) {
	case netstate.GUA:
		return !reserved6(a)
	case netstate.ULA, netstate.Global4, netstate.Private4, netstate.Shared4:
		return true
	}
	return false
}

func inRange[T int | time.Duration](v, lo, hi T) bool { return lo <= v && v <= hi }

// clampTime returns t, or now if t is later than now by at most shareSkew; ok is
// false if it is later by more.
func clampTime(t, now time.Time) (time.Time, bool) {
	switch {
	case t.After(now.Add(shareSkew)):
		return t, false
	case t.After(now):
		return now.Round(0), true
	}
	return t, true
}

// importShared learns, from checked entries, those of sources of the host that are
// more recent than what s knows: the most recent first, shareImportBatch entries
// per hold of the lock, adding pairs only while s holds fewer than its maximum
// (an import never evicts). Health, flags and the pairs' TLS evidence (LastTLS,
// LastMiddlebox: the file has none) are left alone: they are this process's own
// experience. It sorts entries.
func (s *Store) importShared(entries []sharedPair, now time.Time) {
	slices.SortFunc(entries, func(a, b sharedPair) int { return b.updated().Compare(a.updated()) })
	for len(entries) > 0 {
		n := min(len(entries), shareImportBatch)
		s.importBatch(entries[:n], now)
		entries = entries[n:]
	}
}

func (s *Store) importBatch(entries []sharedPair, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bump(true)
	for _, e := range entries {
		sc := s.sources[e.Src]
		if sc == nil {
			if s.snap != nil || s.npairs >= s.maxPairs {
				continue // another host's, or an address gone
			}
			sc = s.addSource(e.Src, now)
		}
		if sc.link != 0 && !sc.network.Same(e.network()) {
			continue // learned on another network
		}
		p := sc.pairs[e.Dst]
		switch {
		case p != nil && !e.updated().After(p.updated):
			continue
		case p == nil && s.npairs >= s.maxPairs:
			continue
		case p == nil:
			p = s.pairOf(sc, e.Dst)
			p.imported = true
		}
		st := e.stats()
		st.LastTLS, st.LastMiddlebox = p.stats.LastTLS, p.stats.LastMiddlebox
		p.stats, p.updated = st, e.updated()
		sc.setWorking(p, e.Successes > 0 && !e.LastFailure.After(e.LastSuccess))
	}
}

// exportShared returns the union of the file's shareable entries and s's, the most
// recent of each pair, at most shareMaxKeep, in address order.
func (s *Store) exportShared(entries []sharedPair, now time.Time) []sharedPair {
	own := s.ownShared(now)
	byID := make(map[pairID]sharedPair, len(entries)+len(own))
	for _, l := range [][]sharedPair{entries, own} {
		for _, e := range l {
			if old, ok := byID[e.id()]; e.shareable(now) && (!ok || e.updated().After(old.updated())) {
				byID[e.id()] = e
			}
		}
	}
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

// ownShared returns s's pairs as shared entries, copied under the read lock,
// made acceptable to readers at now (see ownEntry).
func (s *Store) ownShared(now time.Time) []sharedPair {
	s.mu.RLock()
	out := make([]sharedPair, 0, s.npairs)
	for _, sc := range s.sources {
		for l := range sc.near.all() {
			for _, p := range l {
				out = append(out, sharedPair{
					Src: sc.addr, Dst: p.dst, SRTT: p.stats.SRTT, RTTVar: p.stats.RTTVar,
					Samples: p.stats.Samples, Successes: p.stats.Successes, Failures: p.stats.Failures,
					LastSuccess: p.stats.LastSuccess, LastFailure: p.stats.LastFailure,
					Router: sc.network.Router, RouterHW: sc.network.HWAddr, Prefix: sc.network.Prefix,
				})
			}
		}
	}
	s.mu.RUnlock()
	for i := range out {
		out[i] = out[i].ownEntry(now)
	}
	return out
}

// ownEntry returns e, one of this process's pairs, as readers accept it at now:
// its times on the wall clock (they are compared with other processes' times),
// none later than now (after the clock was stepped back, a result keeps its
// earlier time), and its RTTs within the file's range (the Store keeps samples
// of up to ten minutes, a file's are at most a minute).
func (e sharedPair) ownEntry(now time.Time) sharedPair {
	now = now.Round(0)
	for _, t := range []*time.Time{&e.LastSuccess, &e.LastFailure} {
		if *t = t.Round(0); t.After(now) {
			*t = now
		}
	}
	if e.Samples > 0 {
		e.SRTT = min(max(e.SRTT, shareMinRTT), shareMaxRTT)
		e.RTTVar = min(max(e.RTTVar, 0), shareMaxRTT)
	}
	return e
}

// write replaces the file name with entries: written to a temporary file in the
// directory (mode 0600, the directory owner's), one entry at a time, then renamed
// over name. It is not synced: that would hold the lock for the disk's flush time
// (milliseconds, while other merges wait), and after a crash the file, a cache,
// may be old, or empty and then replaced.
func (d *shareDir) write(name string, entries []sharedPair, now time.Time) (err error) {
	f, tmp, err := d.create(name)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			d.root.Remove(tmp)
		}
	}()
	w := bufio.NewWriter(f)
	written, err := now.UTC().MarshalJSON()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, `{"format":%q,"version":%d,"written":%s,"pairs":[`+"\n", shareFormat, shareVersion, written)
	enc := json.NewEncoder(w)
	for i, e := range entries {
		if i > 0 {
			w.WriteByte(',')
		}
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	w.WriteString("]}\n")
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return d.root.Rename(tmp, name)
}
