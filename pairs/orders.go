package pairs

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"weak"
)

// Bounds of the racing orders a Selector remembers: maxOrders orders, and
// maxOrderPairs in all of pairs and destination addresses (a pair is 160
// bytes, an address 24: at most about 5 MiB); past either, they are all
// forgotten at once (the next dials rank again). An order whose pairs and
// destinations are more than maxOrderPairs/8 (a name with hundreds of
// addresses) is not remembered.
const (
	maxOrders     = 1024
	maxOrderPairs = 1 << 15
)

// orders remembers the racing order of recent queries (Selector.Attempts), so
// that a dial that asks again while nothing the order depends on has changed
// does not rank again. Its zero value is ready. Lookups take no lock; the
// counts are approximate while puts and a clearing overlap.
type orders struct {
	m     sync.Map // orderKey → *orderEntry
	n     atomic.Int32
	pairs atomic.Int32
}

// orderKey is what of a Query, besides its destinations, its racing order
// depends on.
type orderKey struct {
	network, host string
	port          uint16
	local         netip.AddrPort
	resolver      *net.Resolver
	tls           bool
}

func orderKeyOf(q Query) orderKey {
	return orderKey{network: q.Network, host: q.Host, port: q.Port, local: q.Local, resolver: q.Resolver, tls: q.TLS}
}

// orderBasis is what a racing order was made from: an order is reused only for
// the same destinations (a name may resolve differently from one dial to the
// next) and the same basis.
type orderBasis struct {
	view weak.Pointer[view] // the snapshot generation and its route verdicts (view.self)
	// usesStore is set when a candidate had a source the Store may know of;
	// version and state are then the Store's versions (probe.Store.Version and
	// StateVersion) when the order was made, at made. Otherwise what the Store
	// learns does not change the order.
	usesStore      bool
	version, state uint64
	made           time.Time
	// until, when not zero, is when a verdict the order relied on expires: a
	// route verdict (see negativeTTL: the pair a negative one dropped may be
	// routable again; positiveTTL), a middlebox verdict (probe.MiddleboxHold).
	until time.Time
	// dns64 is the ended RFC 7050 lookup whose prefixes the order used (its
	// view's network needs one: they are not in the view); nil otherwise.
	dns64 *dns64Check
}

// orderEntry is one remembered racing order.
type orderEntry struct {
	dsts  []netip.Addr
	basis orderBasis
	pairs []Pair // never modified: get hands out copies
}

// size is what e counts towards maxOrderPairs (see orderSize).
func (e *orderEntry) size() int32 { return orderSize(e.pairs, e.dsts) }

// orderSize is what an order of ps to dsts counts towards maxOrderPairs: its
// pairs and its destinations (which a name with many addresses of a family the
// host cannot reach has more of than pairs).
func orderSize(ps []Pair, dsts []netip.Addr) int32 { return int32(len(ps) + len(dsts)) }

// latencyHold is how long a remembered order stands while only latencies
// moved in the Store (probe.Store.StateVersion the same, Version not): a busy
// program's dials to one name, each of which moves a latency a little, would
// otherwise rank every time. Every other change ends it at once.
const latencyHold = time.Second

// storeVersions is what orders asks of the Store (*probe.Store).
type storeVersions interface {
	Version() uint64
	StateVersion() uint64
}

// get returns a copy of the racing order remembered for k to dsts, if it was
// made from the same basis: the same view, the same answered RFC 7050 lookup
// (dns64, see Selector.dns64Basis), the same Store state (see latencyHold; the
// store is asked only for an order that depends on it) and no expired route
// verdict.
func (o *orders) get(k orderKey, dsts []netip.Addr, v *view, dns64 *dns64Check, store storeVersions) ([]Pair, bool) {
	x, ok := o.m.Load(k)
	if !ok {
		return nil, false
	}
	e := x.(*orderEntry)
	switch {
	case e.basis.view != v.self || e.basis.dns64 != dns64 || !slices.Equal(e.dsts, dsts):
		return nil, false
	case e.basis.usesStore && e.basis.state != store.StateVersion():
		return nil, false
	case e.basis.usesStore && e.basis.version != store.Version() && time.Since(e.basis.made) >= latencyHold:
		return nil, false
	case !e.basis.until.IsZero() && !time.Now().Before(e.basis.until):
		return nil, false
	}
	return slices.Clone(e.pairs), true
}

// put remembers ps (which it copies) as the racing order of k to dsts, made
// from basis b.
func (o *orders) put(k orderKey, dsts []netip.Addr, b orderBasis, ps []Pair) {
	size := orderSize(ps, dsts)
	if size > maxOrderPairs/8 {
		return
	}
	e := &orderEntry{dsts: slices.Clone(dsts), basis: b, pairs: slices.Clone(ps)}
	prev, loaded := o.m.Swap(k, e)
	n := o.n.Load()
	if loaded {
		size -= prev.(*orderEntry).size()
	} else {
		n = o.n.Add(1)
	}
	if o.pairs.Add(size) > maxOrderPairs || n > maxOrders {
		o.m.Clear()
		o.n.Store(0)
		o.pairs.Store(0)
	}
}
