package netstate

import (
	"slices"
	"sync"
	"time"
)

// raOptions keeps the PREF64 options of the Router Advertisements that the
// kernel hands to user space (RTM_NEWNDUSEROPT on RTNLGRP_ND_USEROPT), for the
// snapshots: events feed it, dumps read it. Unlike addresses and routes these
// cannot be dumped, only followed. When a prefix's lifetime runs out it calls
// the notify function it was last given, so that a rebuild drops the prefix.
// Its methods are safe for concurrent use; its zero value is ready.
type raOptions struct {
	mu     sync.Mutex
	table  pref64Table
	timer  *time.Timer // runs notify at the next expiry; nil before the first
	notify func()
	closed bool
}

// handle feeds the body of one RTM_NEWNDUSEROPT message that arrived at now,
// and reports whether the snapshot's PREF64s may change: the message carried a
// PREF64 option, valid or not. notify is called when a prefix expires.
func (r *raOptions) handle(body []byte, now time.Time, notify func()) bool {
	m, err := parseNDUserOpt(body)
	if err != nil {
		return false
	}
	opts := m.pref64s()
	if len(opts) == 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.table.update(m.Index, m.Router, opts, now)
	r.notify = notify
	r.arm(now)
	return true
}

// seed takes the PREF64s a previous Monitor had learned from RAs (see
// WithPREF64s), as if heard before any RA to come: an RA heard later is
// preferred for its link.
func (r *raOptions) seed(ps []PREF64, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range ps {
		if p.Source != PREF64RA || !now.Before(p.Expires) {
			continue
		}
		if r.table.entries == nil {
			r.table.entries = map[raKey]raEntry{}
		}
		r.table.entries[raKey{p.Index, p.Router.WithZone(""), p.Prefix}] = raEntry{expires: p.Expires, zone: p.Router.Zone()}
	}
}

// watch sets the function called when a prefix expires before any RA arrived
// (a seeded one) and arms the timer for it.
func (r *raOptions) watch(notify func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notify = notify
	r.arm(time.Now())
}

// arm sets the timer to the next expiry; r.mu is held.
func (r *raOptions) arm(now time.Time) {
	next := r.table.nextExpiry()
	if r.closed || next.IsZero() || r.notify == nil {
		if r.timer != nil {
			r.timer.Stop()
		}
		return
	}
	d := next.Sub(now)
	if r.timer == nil {
		notify := r.notify
		r.timer = time.AfterFunc(d, func() { r.expired(notify) })
		return
	}
	r.timer.Reset(d)
}

// expired runs when the earliest prefix may have run out.
func (r *raOptions) expired(notify func()) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if !closed {
		notify()
	}
}

// current returns the PREF64s of the links of s at now (the router's address
// zoned with its link's name), and forgets the prefixes of links s does not
// have; it re-arms the timer for the next expiry.
func (r *raOptions) current(s *Snapshot, now time.Time) []PREF64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.table.entries {
		if _, ok := s.Link(k.index); !ok {
			r.table.forget(k.index)
		}
	}
	out := r.table.current(now)
	for i := range out {
		out[i].Router = out[i].Router.WithZone(s.zoneFor(out[i].Index))
	}
	r.arm(now)
	return out
}

// refreshed returns ps with the expiry of each RA prefix as the last RA set it.
// It changes nothing: what expired goes only by the timer (see arm).
func (r *raOptions) refreshed(ps []PREF64) []PREF64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(ps)
	for i := range out {
		p := &out[i]
		if p.Source != PREF64RA {
			continue
		}
		if e, ok := r.table.entries[raKey{p.Index, p.Router.WithZone(""), p.Prefix}]; ok {
			p.Expires = e.expires // later or, when an RA shortened it, earlier
		}
	}
	return out
}

// close stops the timer; nothing is notified afterwards.
func (r *raOptions) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
}
