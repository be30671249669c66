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
// Taken, and lifetimes that only ran down with time.
func sameHost(a, b *Snapshot) bool {
	return a.Gateway4 == b.Gateway4 && a.Gateway6 == b.Gateway6 &&
		slices.Equal(a.Links, b.Links) &&
		slices.Equal(a.Routes, b.Routes) &&
		slices.Equal(a.Rules, b.Rules) &&
		slices.Equal(a.Neighbors, b.Neighbors) &&
		slices.EqualFunc(a.PREF64s, b.PREF64s, samePREF64) &&
		slices.EqualFunc(a.Addrs, b.Addrs, func(x, y Addr) bool {
			return sameAddr(x, y, a.Taken, b.Taken)
		})
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
