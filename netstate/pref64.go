package netstate

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/getapr/getapr/internal/nat64"
)

// PREF64Source says where a link's NAT64 prefix (PREF64) was learned.
type PREF64Source uint8

// The sources of a PREF64. A Snapshot holds only those from Router
// Advertisements; pairs adds those from DNS and configuration.
const (
	PREF64None   PREF64Source = iota
	PREF64RA                  // a PREF64 option in a Router Advertisement (RFC 8781)
	PREF64DNS                 // the AAAA answers for ipv4only.arpa (RFC 7050)
	PREF64Config              // configured
)

var pref64SourceNames = [...]string{"none", "ra", "dns", "config"}

// String returns "ra", "dns", "config" or "none".
func (s PREF64Source) String() string {
	if int(s) < len(pref64SourceNames) {
		return pref64SourceNames[s]
	}
	return "pref64source(?)"
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (s PREF64Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// PREF64 is the NAT64 prefix of one link: IPv4 destinations reached through
// that link are synthesized under it (RFC 6052).
type PREF64 struct {
	// Index is the link's interface index.
	Index int
	// Prefix is the NAT64 prefix, of length 32, 40, 48, 56, 64 or 96.
	Prefix netip.Prefix
	// Source says where it was learned.
	Source PREF64Source
	// Router is the router that advertised it (link-local, with its zone), for
	// PREF64RA; invalid otherwise.
	Router netip.Addr
	// Expires is when it stops being valid; zero for never.
	Expires time.Time
}

// PREF64For returns the PREF64 of link index in s; ok is false when s has none.
func (s *Snapshot) PREF64For(index int) (PREF64, bool) {
	for _, p := range s.PREF64s {
		if p.Index == index {
			return p, true
		}
	}
	return PREF64{}, false
}

// raKey names one advertised prefix: the link, the router and the prefix.
type raKey struct {
	index  int
	router netip.Addr // without zone
	prefix netip.Prefix
}

// raEntry is one advertised prefix and when it was last heard of.
type raEntry struct {
	heard, expires time.Time
	zone           string // the router's zone
}

// pref64Table keeps the PREF64 options Router Advertisements brought, with their
// lifetimes (RFC 8781 section 5): each (link, router, prefix) lives for the
// lifetime of the RA that last carried it, and an RA that carries it with
// lifetime zero withdraws it at once. A link's PREF64 is the unexpired prefix
// heard of most recently (ties: the lowest router, then prefix). It holds at
// most maxRAEntries, forgetting the one heard of least recently to make room:
// any host on a link can send RAs. Its zero value is empty and ready; it is
// not safe for concurrent use.
type pref64Table struct {
	entries map[raKey]raEntry
}

// maxRAEntries bounds a pref64Table: a network has one or a few NAT64 prefixes.
const maxRAEntries = 64

// update records the PREF64 options of an RA from router on link index that
// arrived at now.
func (t *pref64Table) update(index int, router netip.Addr, opts []nat64.Option, now time.Time) {
	for _, o := range opts {
		k := raKey{index, router.WithZone(""), o.Prefix}
		if o.Lifetime <= 0 {
			delete(t.entries, k)
			continue
		}
		if t.entries == nil {
			t.entries = map[raKey]raEntry{}
		}
		if _, known := t.entries[k]; !known && len(t.entries) >= maxRAEntries {
			t.forgetOldest()
		}
		t.entries[k] = raEntry{heard: now, expires: now.Add(o.Lifetime), zone: router.Zone()}
	}
}

// forgetOldest drops the entry heard of least recently.
func (t *pref64Table) forgetOldest() {
	var oldest raKey
	first := true
	for k, e := range t.entries {
		if first || e.heard.Before(t.entries[oldest].heard) {
			oldest, first = k, false
		}
	}
	delete(t.entries, oldest)
}

// forget drops what link index advertised (the link is gone).
func (t *pref64Table) forget(index int) {
	for k := range t.entries {
		if k.index == index {
			delete(t.entries, k)
		}
	}
}

// current returns each link's PREF64 at now, sorted by link, and drops the
// expired entries.
func (t *pref64Table) current(now time.Time) []PREF64 {
	best := map[int]raKey{}
	for k, e := range t.entries {
		if !now.Before(e.expires) {
			delete(t.entries, k)
			continue
		}
		if b, ok := best[k.index]; !ok || newer(k, e, b, t.entries[b]) {
			best[k.index] = k
		}
	}
	out := make([]PREF64, 0, len(best))
	for _, k := range best {
		e := t.entries[k]
		out = append(out, PREF64{Index: k.index, Prefix: k.prefix, Source: PREF64RA,
			Router: k.router.WithZone(e.zone), Expires: e.expires})
	}
	slices.SortFunc(out, func(a, b PREF64) int { return cmp.Compare(a.Index, b.Index) })
	return out
}

// newer reports whether entry (k, e) is preferred to (bk, be) for a link.
func newer(k raKey, e raEntry, bk raKey, be raEntry) bool {
	if c := e.heard.Compare(be.heard); c != 0 {
		return c > 0
	}
	if c := k.router.Compare(bk.router); c != 0 {
		return c < 0
	}
	return k.prefix.Addr().Compare(bk.prefix.Addr()) < 0 ||
		k.prefix.Addr() == bk.prefix.Addr() && k.prefix.Bits() < bk.prefix.Bits()
}

// nextExpiry returns the earliest expiry of an entry, or zero when there is
// none: the time a Snapshot's PREF64s change without an event.
func (t *pref64Table) nextExpiry() time.Time {
	var next time.Time
	for _, e := range t.entries {
		if next.IsZero() || e.expires.Before(next) {
			next = e.expires
		}
	}
	return next
}
