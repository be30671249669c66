package pairs

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// engine is what a running Selector holds: the watcher (started by the Selector,
// or given by WithWatcher), the one subscription to it, the prober and the
// sharer. Everything that runs a goroutine for a Selector belongs to its engine
// (the RFC 7050 lookups of the Selector's dns64Discovery run only while an engine
// runs), and the Selector is the only owner of each feed: it passes every
// snapshot to the Store and then its change to the prober.
type engine struct {
	watcher netstate.Watcher
	ownW    bool          // the Selector started watcher and closes it
	prober  *probe.Prober // nil without probing
	sharer  *probe.Sharer // nil without sharing
	unsub   func()

	mu   sync.Mutex         // serializes observe: the subscription and the catch-up at start
	last *netstate.Snapshot // the last snapshot observed
}

// lifecycle is the state of a Selector's engine: running or stopped (idle, or
// closed), how many calls use it, and when it was last used. A call that finds
// the engine running takes no lock (see use).
type lifecycle struct {
	mu      sync.Mutex
	eng     *engine           // nil while stopped
	watcher netstate.Watcher  // the current or last engine's watcher: rankings read it while stopped
	timer   *time.Timer       // fires the idle check; nil without idle stop
	gen     uint64            // the last generation seen, continued by a restarted Monitor
	pref64  []netstate.PREF64 // the RA NAT64 prefixes the last Monitor knew, for the next
	status  bool              // the status flags were asked for
	closed  bool
	err     error // of the last engine's stop, returned by Close (see stop.finish)

	// running is eng for use's fast path, nil while the engine is stopped or
	// an idle check decides whether to stop it (set under mu).
	running atomic.Pointer[engine]
	users   atomic.Int64 // calls between use and release
	used    atomic.Int64 // when last used: nanoseconds since born
	born    time.Time
}

// touch records a use now.
func (l *lifecycle) touch() { l.used.Store(int64(time.Since(l.born))) }

// idle returns how long ago the engine was last used.
func (l *lifecycle) idle() time.Duration { return time.Since(l.born) - time.Duration(l.used.Load()) }

// use returns the running engine, starting it if it is stopped (unless the
// Selector is closed), and counts the caller as a user until it calls release.
// When the engine cannot start, or after Close, it returns an engine with the
// last watcher and nothing running, so that rankings go on from what is known.
// While the engine runs it takes no lock.
func (s *Selector) use() *engine {
	l := &s.life
	if e := l.running.Load(); e != nil {
		l.users.Add(1)
		// An idle check clears running before it counts the users: if it
		// still holds e, no check can stop e before this use is released.
		if l.running.Load() == e {
			l.touch()
			return e
		}
		l.users.Add(-1)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.touch()
	if l.eng == nil && !l.closed {
		if err := s.startLocked(); err != nil {
			s.log.Warn("restarting the selector failed; ranking from what is known", zap.Error(err))
		}
	}
	l.users.Add(1)
	if l.eng == nil {
		return &engine{watcher: l.watcher}
	}
	return l.eng
}

// release ends one use.
func (s *Selector) release() {
	s.life.touch()
	s.life.users.Add(-1)
}

// startLocked starts the engine: the watcher (a Monitor whose generations continue
// the last one's, and which knows the NAT64 prefixes it had from RAs, unless
// WithWatcher gave one), the subscription, the prober and the sharer. l.mu is
// held.
func (s *Selector) startLocked() error {
	l := &s.life
	e := &engine{watcher: s.cfg.watcher}
	if e.watcher == nil {
		start := s.cfg.startWatcher
		if start == nil {
			start = newMonitor
		}
		w, err := start(s.cfg.log, l.gen+1, l.pref64)
		if err != nil {
			return err
		}
		e.watcher, e.ownW = w, true
	}
	e.last = e.watcher.Snapshot()
	s.store.Observe(e.last)
	if s.cfg.probing {
		e.prober = probe.NewProber(s.store, e.watcher, probe.ProberConfig{
			Candidates: func(dst netip.AddrPort) []probe.Path { return s.probeCandidates(e.watcher, dst) },
			Targets:    s.cfg.targets,
			Dial:       s.cfg.dial,
			Atlas:      s.cfg.atlas,
			Quiet:      !s.cfg.eager,
			Logger:     s.cfg.log,
		})
		if l.status {
			e.prober.WantStatus()
		}
	}
	if s.cfg.sharing != "" {
		e.sharer = probe.NewSharer(s.store, s.cfg.sharing, probe.WithShareLogger(s.cfg.log))
	}
	// Subscribe once the prober the subscription feeds exists, then observe
	// what changed since the first snapshot, before the subscription.
	e.unsub = e.watcher.Subscribe(func(snap *netstate.Snapshot) { s.observe(e, snap) })
	s.observe(e, e.watcher.Snapshot())
	s.dns64.resume()
	l.eng, l.watcher = e, e.watcher
	l.running.Store(e)
	if s.cfg.idleStop > 0 {
		if l.timer == nil {
			l.timer = time.AfterFunc(s.cfg.idleStop, s.idleCheck)
		} else {
			l.timer.Reset(s.cfg.idleStop)
		}
	}
	return nil
}

// observe is the engine's subscription: the Store learns of the change first,
// then the prober. The last snapshot observed, or an older one, is skipped: the
// catch-up at start and the subscription may both bring it.
func (s *Selector) observe(e *engine, snap *netstate.Snapshot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if snap == e.last || snap.Generation < e.last.Generation {
		return
	}
	d := netstate.Changes(e.last, snap)
	e.last = snap
	s.store.Observe(snap)
	if e.prober != nil {
		e.prober.Changed(d)
	}
}

// stopLocked stops the engine and waits for its goroutines: the prober, an
// RFC 7050 lookup, the subscription, and the watcher if the Selector started
// it. What was learned stays. l.mu is held. The sharer's last merge of the
// shared file, which may wait for other processes' lock for up to 30 s, is
// left to the stop's finish, which the caller runs once l.mu is released:
// rankings meanwhile neither wait for it nor for l.mu.
func (s *Selector) stopLocked() stop {
	l := &s.life
	e := l.eng
	if e == nil {
		return stop{}
	}
	l.eng = nil
	l.running.Store(nil)
	if l.timer != nil {
		l.timer.Stop()
	}
	st := stop{s: s, sharer: e.sharer}
	if e.prober != nil {
		st.errs = append(st.errs, e.prober.Close())
	}
	s.dns64.stop()
	e.unsub()
	if e.ownW {
		// Closed before its last snapshot is read: one it published after
		// would carry the generation the next Monitor starts with, and a view
		// of either would pass for the other's (see currentView).
		st.errs = append(st.errs, e.watcher.Close())
	}
	last := e.watcher.Snapshot()
	l.gen = max(l.gen, last.Generation)
	if e.ownW {
		// RA options cannot be dumped: the next Monitor starts with these,
		// as the last RAs left them.
		l.pref64 = last.PREF64s
		if m, ok := e.watcher.(*netstate.Monitor); ok {
			l.pref64 = m.PREF64s()
		}
	}
	return st
}

// stop is what is left of an engine's stop once l.mu is released (see
// stopLocked); its zero value stopped nothing.
type stop struct {
	s      *Selector
	sharer *probe.Sharer // nil without sharing
	errs   []error
}

// finish closes the sharer (its last merge) and records the stop's errors,
// which replace the last stop's (logged): an engine stopped when idle every
// few minutes for months keeps nothing of it. It returns them. l.mu must not
// be held.
func (st stop) finish() error {
	if st.s == nil {
		return nil
	}
	if st.sharer != nil {
		st.errs = append(st.errs, st.sharer.Close())
	}
	err := errors.Join(st.errs...)
	if err != nil {
		st.s.log.Warn("stopping the selector's goroutines", zap.Error(err))
	}
	l := &st.s.life
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
	return err
}

// idleCheck runs when the idle timer fires: it stops the engine if nothing used
// it for the idle-stop time, or sets the timer for when that will be.
func (s *Selector) idleCheck() {
	l := &s.life
	l.mu.Lock()
	if l.eng == nil {
		l.mu.Unlock()
		return
	}
	// Hold off use's fast path while counting the users (see use).
	l.running.Store(nil)
	left := s.cfg.idleStop - l.idle()
	var st stop
	switch {
	case l.users.Load() > 0:
		l.running.Store(l.eng)
		l.timer.Reset(s.cfg.idleStop)
	case left > 0:
		l.running.Store(l.eng)
		l.timer.Reset(left)
	default:
		s.log.Debug("idle: stopping", zap.Duration("idle", s.cfg.idleStop))
		st = s.stopLocked()
	}
	l.mu.Unlock()
	st.finish()
}

// Suspend stops the Selector's goroutines now (its prober, its sharer after a last
// merge, an RFC 7050 lookup of the NAT64 prefix, the netstate Monitor it
// started, and an HTTPS lookup that a closed Stream left to learn whether its
// resolver answers) and keeps what it has learned; the
// next call that needs them (Get, Attempts, LookupNetIP, Init, Status) starts them
// again. A Selector made with WithIdleStop does this by itself when idle. Tests
// that check for leaked goroutines (goleak) call it, or StopDefault, first.
func (s *Selector) Suspend() {
	s.life.mu.Lock()
	st := s.stopLocked()
	s.life.mu.Unlock()
	s.quiet.stop(false)
	st.finish()
}

// Close stops the Selector's goroutines for good (see Suspend); it is idempotent
// and returns the errors of the last stop (this one, or an earlier Suspend or
// idle stop when the goroutines were not running), the last merge of the
// shared file among them. The Selector still ranks afterwards, from what it knew. Close on
// Default's Selector, which the whole process shares, only suspends it.
func (s *Selector) Close() error {
	if s.shared {
		s.Suspend()
		return nil
	}
	l := &s.life
	l.mu.Lock()
	var st stop
	if !l.closed {
		l.closed = true
		st = s.stopLocked()
	}
	err := l.err // the last stop's, when this Close stops nothing
	l.mu.Unlock()
	s.quiet.stop(true)
	if st.s != nil {
		return st.finish()
	}
	return err
}

// running reports whether the engine runs (tests).
func (s *Selector) running() bool {
	s.life.mu.Lock()
	defer s.life.mu.Unlock()
	return s.life.eng != nil
}

// watcher returns the current (or last) engine's watcher.
func (s *Selector) watcher() netstate.Watcher {
	s.life.mu.Lock()
	defer s.life.mu.Unlock()
	return s.life.watcher
}
