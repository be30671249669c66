package pairs

import "net/netip"

// Bounds of what one query pairs up: of a name's addresses, at most
// maxDestinationsPerFamily of each family, fewer on a host with many sources,
// so that a family's pairs stay near maxPairsPerFamily. A name may have
// hundreds of addresses (a DNS answer of 500 records, a load balancer's pool);
// each pair costs a route decision (a netlink round trip on Linux) and its
// share of every ranking, and no race reaches more than a few dozen of them
// before its time is out. net.Dialer, splitting its deadline between
// addresses, tries a few of them too.
const (
	maxDestinationsPerFamily = 16
	maxPairsPerFamily        = 512
)

// destinationsPerFamily returns how many addresses of each family a query
// pairs up, on a host of v's sources.
func destinationsPerFamily(v *view) int {
	return min(maxDestinationsPerFamily, max(1, maxPairsPerFamily/max(1, len(v.srcs))))
}

// firstOfFamilies returns xs with, of each family, only its first n addresses
// (as addr reads them), in their order; xs itself when nothing is left out.
func firstOfFamilies[T any](xs []T, addr func(T) netip.Addr, n int) []T {
	var n4, n6 int
	for _, x := range xs {
		if addr(x).Is4() {
			n4++
		} else {
			n6++
		}
	}
	if n4 <= n && n6 <= n {
		return xs
	}
	out := make([]T, 0, min(n4, n)+min(n6, n))
	n4, n6 = 0, 0
	for _, x := range xs {
		c := &n6
		if addr(x).Is4() {
			c = &n4
		}
		if *c < n {
			out = append(out, x)
		}
		*c++
	}
	return out
}

// boundDestinations returns dsts bounded as a query to them pairs them up (see
// destinationsPerFamily).
func boundDestinations(dsts []netip.Addr, v *view) []netip.Addr {
	return firstOfFamilies(dsts, func(a netip.Addr) netip.Addr { return a }, destinationsPerFamily(v))
}
