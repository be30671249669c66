package netstate

import (
	"net/netip"
	"testing"
)

// BenchmarkSnapshot is the cost of reading the current snapshot, which pairs and
// the dialer do on every dial.
func BenchmarkSnapshot(b *testing.B) {
	b.Run("Monitor", func(b *testing.B) {
		m, err := New(withBackend(newFake(*multihomed())))
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		b.ReportAllocs()
		for b.Loop() {
			if m.Snapshot() == nil {
				b.Fatal("nil")
			}
		}
	})
	b.Run("Static", func(b *testing.B) {
		st := NewStatic(multihomed())
		b.ReportAllocs()
		for b.Loop() {
			if st.Snapshot() == nil {
				b.Fatal("nil")
			}
		}
	})
}

// BenchmarkLookup is the cost of the Static route model on the multihomed host.
func BenchmarkLookup(b *testing.B) {
	s := multihomed()
	src, dst := netip.MustParseAddr("2001:db8:b::10"), netip.MustParseAddr("2001:db8:ffff::1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Lookup(src, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStaticSet is the cost of publishing a snapshot to one subscriber.
func BenchmarkStaticSet(b *testing.B) {
	st := NewStatic(nil)
	st.Subscribe(func(*Snapshot) {})
	s := multihomed()
	b.ReportAllocs()
	for b.Loop() {
		st.Set(s)
	}
}
