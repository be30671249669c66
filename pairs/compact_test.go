package pairs

import (
	"net/netip"
	"slices"
	"testing"
)

// bigDuplicatedAnswer returns n AAAA and n A records (see bigAnswer), each
// twice, the second time as IPv4-mapped for the A ones: what a resolver's
// answer over TCP may hold.
func bigDuplicatedAnswer(n int) (a6, a4 *answer) {
	addrs := bigAnswer(n)
	a6, a4 = new(answer), new(answer)
	for range 2 {
		for i, a := range addrs {
			if a.Is4() && i%4 == 1 {
				a = netip.AddrFrom16(a.As16()) // mapped: the same address
			}
			if a.Is6() && !a.Is4In6() {
				a6.addrs = append(a6.addrs, a)
			} else {
				a4.addrs = append(a4.addrs, a)
			}
		}
	}
	return a6, a4
}

// Answers are joined without duplicates, in order: the IPv6 addresses as the
// resolver gave them, then the IPv4 ones, unmapped, small answers and large.
func TestCollectRemovesDuplicatesInOrder(t *testing.T) {
	for _, n := range []int{3, 8, 2000} {
		a6, a4 := bigDuplicatedAnswer(n)
		got, err := collect("many.example", a6, a4)
		if err != nil {
			t.Fatal(err)
		}
		var want []netip.Addr
		for _, a := range bigAnswer(n) {
			if a.Is6() {
				want = append(want, a)
			}
		}
		for _, a := range bigAnswer(n) {
			if a.Is4() {
				want = append(want, a)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("n=%d: collect gave %d addresses, want the %d distinct ones in order", n, len(got), len(want))
		}
	}
}

// BenchmarkCollectLarge joins a TCP-sized answer: 4,000 AAAA and 4,000 A
// records, each twice.
func BenchmarkCollectLarge(b *testing.B) {
	a6, a4 := bigDuplicatedAnswer(4000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := collect("many.example", a6, a4); err != nil {
			b.Fatal(err)
		}
	}
}
