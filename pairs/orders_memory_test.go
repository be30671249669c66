package pairs

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"testing"

	"github.com/getapr/getapr/netstate"
)

// TestOrdersBoundCountsDestinations checks the bound of the racing orders
// remembered (maxOrderPairs pairs and addresses: about 5 MiB) when the
// destinations outnumber the pairs: on an IPv4-only host, names with one A
// record and 1,000 AAAA records have one pair each, but every order keeps its
// 1,001 destinations. maxOrders of them must stay within the stated bound.
func TestOrdersBoundCountsDestinations(t *testing.T) {
	if testing.Short() {
		t.Skip("ranks 1M destinations (16 s with -race)")
	}
	const hosts, per = maxOrders, 1000
	snap := homeSnapshot()
	snap.Addrs = slices.DeleteFunc(snap.Addrs, func(a netstate.Addr) bool { return a.IP.Is6() })
	snap.Routes = slices.DeleteFunc(snap.Routes, func(r netstate.Route) bool { return r.Dst.Addr().Is6() })
	snap.Gateway6 = netip.Addr{}
	dns := fakeDNS{}
	for h := range hosts {
		as := make([]netip.Addr, 0, per+1)
		for i := range per {
			as = append(as, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xee, byte(h >> 8), byte(h), 14: byte(i >> 8), 15: byte(i)}))
		}
		as = append(as, netip.AddrFrom4([4]byte{198, 51, byte(h >> 8), byte(h)}))
		dns[fmt.Sprintf("h%d.test", h)] = as
	}
	sel, _ := newTestSelector(t, snap, dns)
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for h := range hosts {
		ps, err := sel.Attempts(context.Background(), Query{Network: "tcp", Host: fmt.Sprintf("h%d.test", h), Port: 443})
		if err != nil || len(ps) != 1 {
			t.Fatalf("h%d.test: %d pairs, %v; want 1", h, len(ps), err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	grew := (int64(m1.HeapAlloc) - int64(m0.HeapAlloc)) >> 20
	t.Logf("retained heap +%d MiB, %d orders of %d pairs remembered", grew, sel.orders.n.Load(), sel.orders.pairs.Load())
	if grew > 8 {
		t.Errorf("retained heap grew by %d MiB for %d orders of one pair each; want the stated bound (about 5 MiB)", grew, hosts)
	}
	runtime.KeepAlive(sel)
}
