package probe_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// benchStore is a store with 3 sources and 64 destinations per source measured.
func benchStore(b *testing.B) (*probe.Store, []probe.Outcome) {
	b.Helper()
	s := probe.NewStore()
	s.Observe(twoUplinks.snap())
	var outs []probe.Outcome
	for i := range 64 {
		for _, src := range []string{srcA, srcB} {
			dst := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0xd0, byte(i), 15: 1})
			outs = append(outs, probe.Outcome{
				Path:   probe.Path{Src: addrPort(src, 0), Dst: netip.AddrPortFrom(dst, 443)},
				Result: probe.Success, Start: t0, Duration: time.Duration(10+i) * time.Millisecond,
			})
		}
		dst4 := netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		outs = append(outs, probe.Outcome{
			Path:   probe.Path{Src: addrPort(src4, 0), Dst: netip.AddrPortFrom(dst4, 443)},
			Result: probe.Refused, Start: t0, Duration: time.Duration(20+i) * time.Millisecond,
		})
	}
	for _, o := range outs {
		s.Report(o)
	}
	return s, outs
}

func BenchmarkReport(b *testing.B) {
	s, outs := benchStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Report(outs[i%len(outs)])
		i++
	}
}

func BenchmarkPair(b *testing.B) {
	s, outs := benchStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := outs[i%len(outs)]
		if _, ok := s.Pair(o.Src.Addr(), o.Dst.Addr()); !ok {
			b.Fatal("pair not found")
		}
		i++
	}
}

// BenchmarkFrom reads 64 pairs of one source and its health at once: compare with
// 64 times BenchmarkPair.
func BenchmarkFrom(b *testing.B) {
	s, outs := benchStore(b)
	src := addr(srcA)
	var dsts []netip.Addr
	for _, o := range outs {
		if o.Src.Addr() == src {
			dsts = append(dsts, o.Dst.Addr())
		}
	}
	out, found := make([]probe.PairStats, len(dsts)), make([]bool, len(dsts))
	b.ReportAllocs()
	for b.Loop() {
		s.From(src, dsts, out, found)
	}
	if !found[0] || !found[len(dsts)-1] {
		b.Fatal("pair not found")
	}
}

func BenchmarkNearby(b *testing.B) {
	s, _ := benchStore(b)
	src, dst := addr(srcA), addr("2001:db8:ffff::1")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Nearby(src, dst); !ok {
			b.Fatal("no nearby pair")
		}
	}
}

func BenchmarkTranslators(b *testing.B) {
	s, _ := benchStore(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Translators()
	}
}

func BenchmarkStatus(b *testing.B) {
	s, _ := benchStore(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Status()
	}
}

// BenchmarkWant is the cost of telling the Prober about a destination it already
// probes: what every dial pays.
func BenchmarkWant(b *testing.B) {
	w := netstate.NewStatic(twoUplinks.snap())
	p := probe.NewProber(probe.NewStore(), w, probe.ProberConfig{
		Candidates: candidates(w),
		Dial: func(context.Context, probe.Path) (net.Conn, error) {
			return nil, errors.New("benchmark: no network")
		},
	})
	defer p.Close()
	p.Want(tD)
	if err := p.WaitRound(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Want(tD)
	}
}

// BenchmarkReportParallel reports outcomes from as many goroutines as
// GOMAXPROCS, while as many rank (From, one source's 64 pairs, every 16
// reports): what a busy dialer's outcomes cost under the Store's one lock.
// Compare with BenchmarkReport, one goroutine.
func BenchmarkReportParallel(b *testing.B) {
	s, outs := benchStore(b)
	src := addr(srcA)
	var dsts []netip.Addr
	for _, o := range outs {
		if o.Src.Addr() == src {
			dsts = append(dsts, o.Dst.Addr())
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		out, found := make([]probe.PairStats, len(dsts)), make([]bool, len(dsts))
		i := 0
		for pb.Next() {
			s.Report(outs[i%len(outs)])
			if i%16 == 0 {
				s.From(src, dsts, out, found)
			}
			i++
		}
	})
}
