package probe

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestNearKeyOf checks that two addresses have the same nearKey exactly when
// they have the same NearbyPrefix: on pairs of random addresses that share
// 0 to 128 leading bits, of both families, mapped, zoned and invalid.
func TestNearKeyOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	random := func(v4 bool) netip.Addr {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if v4 {
			return netip.AddrFrom4([4]byte(b[:4]))
		}
		return netip.AddrFrom16(b)
	}
	// near returns a copy of a whose bits after the first n are random.
	near := func(a netip.Addr, n int) netip.Addr {
		b := a.AsSlice()
		for i := n; i < len(b)*8; i++ {
			if rng.IntN(2) == 1 {
				b[i/8] ^= 0x80 >> (i % 8)
			}
		}
		r, _ := netip.AddrFromSlice(b)
		return r
	}
	fixed := []netip.Addr{
		{}, netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("::"),
		netip.MustParseAddr("::ffff:0.0.0.0"), netip.MustParseAddr("::ffff:192.0.2.1"),
		netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::1%eth1"),
		netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("192.0.15.255"), netip.MustParseAddr("192.0.16.0"),
	}
	check := func(a, b netip.Addr) {
		t.Helper()
		if same, want := nearKeyOf(a) == nearKeyOf(b), NearbyPrefix(a) == NearbyPrefix(b); same != want {
			t.Fatalf("%v, %v: same nearKey %v, same NearbyPrefix %v", a, b, same, want)
		}
	}
	for _, a := range fixed {
		for _, b := range fixed {
			check(a, b)
		}
	}
	for range 20000 {
		a := random(rng.IntN(2) == 0)
		b := near(a, rng.IntN(a.BitLen()+1))
		check(a, b)
		check(a, fixed[rng.IntN(len(fixed))])
	}
}
