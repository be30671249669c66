package pairs

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// Router Solicitations for the NAT64 prefix. A router tells its PREF64 (RFC
// 8781) only in its Router Advertisements, and the kernel keeps none of it: a
// process that starts after the last RA knows no prefix until the next, which
// may be minutes away. When a dial on a host without native IPv4 needs a
// prefix that neither an RA nor RFC 7050 gave, the Selector asks the routers
// of the links concerned for an RA now (RFC 4861 section 6.3.7) and waits a
// little for the answer.
const (
	// raSolicitFirst is the least time between two solicitations on one
	// link; it doubles after each one that brought no prefix, up to
	// raSolicitMax (RFC 7559's backoff, for a link whose routers know of
	// no NAT64).
	raSolicitFirst = 30 * time.Second
	raSolicitMax   = time.Hour
	// raWait is how long a dial waits for the answer: a router may delay a
	// solicited RA by up to MAX_RA_DELAY_TIME, 0.5 s (RFC 4861 section 10).
	raWait = time.Second
)

// soliciter is a Watcher that can ask the routers of links to advertise now
// (netstate.Monitor; fakes in tests). Other watchers are never asked.
type soliciter interface {
	SolicitRouters(indexes ...int) error
}

// routerSolicits decides when to send a Router Solicitation on a link and
// remembers, per link, the last one. Its zero value is ready; it is safe for
// concurrent use.
type routerSolicits struct {
	mu     sync.Mutex
	links  map[int]solicited // by link index: only links that still lack a prefix
	denied bool              // the host refused (no raw socket): never asked again
}

// solicited is the last Router Solicitation on one link.
type solicited struct {
	at    time.Time
	every time.Duration // the least time to the next
}

// solicit sends a Router Solicitation through w on each of links (those that
// need a prefix) that is due one, and returns until when an answer may come
// to a solicitation on one of links: zero when none is awaited.
func (r *routerSolicits) solicit(w netstate.Watcher, links []int, now time.Time, log *zap.Logger) time.Time {
	sw, ok := w.(soliciter)
	if !ok || len(links) == 0 {
		return time.Time{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.denied {
		return time.Time{}
	}
	for i := range r.links {
		if !slices.Contains(links, i) {
			delete(r.links, i) // it has a prefix now, or is gone
		}
	}
	var until time.Time
	var due []int
	for _, i := range links {
		switch last, ok := r.links[i]; {
		case !ok || now.Sub(last.at) >= last.every:
			due = append(due, i)
		case now.Before(last.at.Add(raWait)):
			until = latest(until, last.at.Add(raWait))
		}
	}
	if len(due) == 0 {
		return until
	}
	if r.links == nil {
		r.links = make(map[int]solicited)
	}
	var sent []int
	for _, i := range due { // one at a time: a link's failure is not the others'
		err := sw.SolicitRouters(i)
		if refused(err) {
			r.denied = true
			log.Debug("cannot solicit router advertisements; NAT64 prefixes come from RAs as they arrive", zap.Error(err))
			break
		}
		every := raSolicitFirst
		if last, ok := r.links[i]; ok {
			every = min(2*last.every, raSolicitMax)
		}
		r.links[i] = solicited{at: now, every: every}
		if err != nil {
			log.Debug("router solicitation failed", zap.Int("link", i), zap.Error(err))
			continue
		}
		sent = append(sent, i)
	}
	if len(sent) == 0 {
		return until
	}
	log.Debug("solicited router advertisements for a NAT64 prefix", zap.Ints("links", sent))
	return now.Add(raWait)
}

// refused reports whether err, from SolicitRouters, says that the host gives
// no raw socket (no CAP_NET_RAW) or cannot solicit at all, rather than that a
// link could not send.
func refused(err error) bool {
	var se *os.SyscallError
	return errors.Is(err, errors.ErrUnsupported) ||
		errors.As(err, &se) && se.Syscall == "socket" && errors.Is(se.Err, os.ErrPermission)
}

// latest returns the later of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// awaitRAPrefix waits until the snapshot of w has a Router Advertisement's
// PREF64 on one of links, until the time given (not at all when it is zero) or
// until ctx ends.
func awaitRAPrefix(ctx context.Context, w netstate.Watcher, links []int, until time.Time) {
	if until.IsZero() {
		return
	}
	changed := make(chan struct{}, 1)
	unsubscribe := w.Subscribe(func(*netstate.Snapshot) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer unsubscribe()
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	for !hasRAPrefix(w.Snapshot(), links) {
		select {
		case <-changed:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// hasRAPrefix reports whether s has a Router Advertisement's PREF64 on one of
// links.
func hasRAPrefix(s *netstate.Snapshot, links []int) bool {
	return slices.ContainsFunc(s.PREF64s, func(p netstate.PREF64) bool {
		return p.Source == netstate.PREF64RA && slices.Contains(links, p.Index)
	})
}
