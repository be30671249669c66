package netstate

import (
	"slices"
	"time"
)

// lifetimeSlack is how far two readings of an address lifetime may disagree and
// still count as the same: the kernel reports remaining lifetimes in whole
// seconds, so successive dumps of an unchanged address differ by the time passed.
const lifetimeSlack = 2 * time.Second

// sameHost reports whether a and b describe the same host, ignoring Generation,
// Taken, lifetimes that only ran down with time, and routers that only moved
// between usable neighbour states (see sameNeighbor).
func sameHost(a, b *Snapshot) bool {
	return a.Gateway4 == b.Gateway4 && a.Gateway6 == b.Gateway6 &&
		slices.Equal(a.Links, b.Links) &&
		slices.Equal(a.Routes, b.Routes) &&
		slices.Equal(a.Rules, b.Rules) &&
		slices.EqualFunc(a.Neighbors, b.Neighbors, sameNeighbor) &&
		slices.EqualFunc(a.PREF64s, b.PREF64s, samePREF64) &&
		slices.EqualFunc(a.Addrs, b.Addrs, func(x, y Addr) bool {
			return sameAddr(x, y, a.Taken, b.Taken)
		})
}

// sameNeighbor compares two readings of a router's neighbour entry. A move
// between usable states (reachable and stale, which takes in delay and probe),
// which the kernel makes every half minute or so and back at the next packet,
// is no change: it would make every consumer start again (a new view, its
// route answers, the remembered racing orders) for nothing. Any other move of
// the state is one (being resolved, failed).
func sameNeighbor(x, y Neighbor) bool {
	return x.Index == y.Index && x.IP == y.IP && x.HWAddr == y.HWAddr &&
		(x.State == y.State || x.State.Usable() && y.State.Usable())
}

// sameAddr compares two readings of an address taken at ta and tb.
func sameAddr(x, y Addr, ta, tb time.Time) bool {
	lx, ly := x, y
	lx.PreferredLifetime, lx.ValidLifetime = 0, 0
	ly.PreferredLifetime, ly.ValidLifetime = 0, 0
	return lx == ly &&
		sameExpiry(x.PreferredLifetime, y.PreferredLifetime, ta, tb) &&
		sameExpiry(x.ValidLifetime, y.ValidLifetime, ta, tb)
}

// sameExpiry reports whether lifetimes la (read at ta) and lb (read at tb) end at
// the same moment, give or take lifetimeSlack.
func sameExpiry(la, lb time.Duration, ta, tb time.Time) bool {
	if la == Forever || lb == Forever {
		return la == lb
	}
	d := ta.Add(la).Sub(tb.Add(lb))
	return d.Abs() <= lifetimeSlack
}

// samePREF64 compares two links' NAT64 prefixes without their expiry: an RA
// that only refreshes a prefix's lifetime is no change of the host.
func samePREF64(x, y PREF64) bool {
	x.Expires, y.Expires = time.Time{}, time.Time{}
	return x == y
}
