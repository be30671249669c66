package dialer_test

import (
	"cmp"
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/internal/isolate"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
)

// The parallel benchmark's shape: parallelDialers goroutines per dialer dial
// for parallelSlice at a time, the dialers taking turns, parallelSlices turns
// per round, parallelRounds rounds per iteration, after a warm-up of
// parallelWarmup. The goroutines live for the whole benchmark, each waiting
// for its dialer's turn, as the workers of a proxy or a crawler would (fresh
// goroutines per turn would make a dial pay for their stacks growing). The
// warm-up fills the ephemeral ports with TIME_WAIT connections (the client
// closes first). The listeners are parallelPorts ports of one loopback address,
// dialed in turn: with a single port the kernel lets a TIME_WAIT port be reused
// a second after its last use, all of a second's at once (tcp_tw_reuse = 2,
// connect using the even ports only), so the rate goes in bursts, fast for
// half a second, then nearly nothing, and a turn's rate says which part of that
// second it fell in rather than what the dialer costs (BenchmarkSustained
// dials past the ports of a single destination). The turns are short and
// interleaved so that every dialer meets the same load from the rest of the
// machine.
const (
	parallelDialers = 64
	parallelSlice   = 5 * time.Millisecond
	parallelSlices  = 200
	parallelRounds  = 5
	parallelWarmup  = 3 * time.Second
	parallelPorts   = 8
)

// dialContext is what the parallel benchmark dials with.
type dialContext func(ctx context.Context, network, address string) (net.Conn, error)

// parallelDialer is one of the dialers compared: for goroutine g, its dial
// function.
type parallelDialer struct {
	name string
	dial func(g int) dialContext
}

// BenchmarkParallel compares PairDialer with net.Dialer under parallel load:
// 64 goroutines per dialer dialing loopback listeners (parallelPorts ports),
// each closing its connection at once (the client closes first, so its side
// goes to TIME_WAIT), the dialers taking turns (parallelSlices turns of
// parallelSlice per round), in a network namespace of its own (the TIME_WAIT
// connections would otherwise hold the host's loopback ports). It runs as a
// child of itself (isolate.Bench; root only) and reports, per dialer, the
// median over the rounds of the dials per second and of the 99th percentile of
// a dial's latency, its dial errors over all rounds, and the run's worst round's
// ratio to net.Dialer: "min-x" of dials per second, "max-p99-x" of the p99.
// The dialers: net.Dialer; "pairdialer", one PairDialer and Selector shared by
// all goroutines; "pairdialer-own", a Selector per goroutine; "netdialer-control",
// a second net.Dialer, whose worst-round ratios to the first are the noise floor.
func BenchmarkParallel(b *testing.B) {
	if !isolate.InChild() {
		isolate.Bench(b, isolate.Options{NewNetNS: true})
		return
	}
	var addrs []string
	for port := range parallelPorts {
		a := "127.0.0.1:" + strconv.Itoa(5000+port)
		closingServer(b, a)
		addrs = append(addrs, a)
	}
	w := netstate.NewStatic(loopbackSnapshot())
	defer w.Close()
	newSel := func() *pairs.Selector {
		s, err := pairs.New(pairs.WithWatcher(w), pairs.WithoutProbing(), pairs.WithResolver(noDNSResolver()))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	shared := &dialer.PairDialer{Selector: newSel()}
	own := make([]*dialer.PairDialer, parallelDialers)
	for g := range own {
		own[g] = &dialer.PairDialer{Selector: newSel()}
	}
	nd, control := &net.Dialer{}, &net.Dialer{}
	dialers := []parallelDialer{
		{"netdialer", func(int) dialContext { return nd.DialContext }},
		{"pairdialer", func(int) dialContext { return shared.DialContext }},
		{"pairdialer-own", func(g int) dialContext { return own[g].DialContext }},
		// net.Dialer again, measured against the first as the others are: its
		// worst round is the noise floor of the worst-round ratios.
		{"netdialer-control", func(int) dialContext { return control.DialContext }},
	}
	crews := make([]*crew, len(dialers))
	for i, d := range dialers {
		crews[i] = startCrew(addrs, d)
		defer crews[i].stop()
	}
	rounds := make([][]roundResult, len(dialers))
	for start := time.Now(); time.Since(start) < parallelWarmup; {
		for _, c := range crews {
			c.turn()
		}
	}
	for b.Loop() {
		for range parallelRounds {
			acc := make([]roundResult, len(dialers))
			for s := range parallelSlices {
				for k := range dialers {
					i := (s + k) % len(dialers)
					acc[i].add(crews[i].turn())
				}
			}
			for i := range dialers {
				rounds[i] = append(rounds[i], acc[i].done())
			}
		}
	}
	reportParallel(b, dialers, rounds)
}

// roundResult is one dialer's round, or turn.
type roundResult struct {
	lat     []time.Duration // of the successful dials, until done
	elapsed time.Duration
	rate    float64       // dials per second, once done
	p99     time.Duration // of the dials' latency, once done
	errors  int
	err     string // the first error
}

// add adds the turn t to r.
func (r *roundResult) add(t roundResult) {
	r.lat = append(r.lat, t.lat...)
	r.elapsed += t.elapsed
	r.errors += t.errors
	r.err = cmp.Or(r.err, t.err)
}

// done sums up r's turns: its rate and p99.
func (r *roundResult) done() roundResult {
	slices.Sort(r.lat)
	r.rate = float64(len(r.lat)) / r.elapsed.Seconds()
	if len(r.lat) > 0 {
		r.p99 = r.lat[len(r.lat)*99/100]
	}
	r.lat = nil
	return *r
}

// crew is one dialer's parallelDialers goroutines.
type crew struct {
	turns []chan *turn // per goroutine: its turns, closed by stop
	done  sync.WaitGroup
}

// turn is one turn of a crew: its goroutines dial until stop, each recording
// into its own elements of lat and errs.
type turn struct {
	stop  atomic.Bool
	lat   [][]time.Duration
	errs  []int
	first atomic.Pointer[string] // the first error
	wg    sync.WaitGroup
}

// startCrew starts d's goroutines, dialing addrs in turn (goroutine g starts
// at addrs[g%len(addrs)]).
func startCrew(addrs []string, d parallelDialer) *crew {
	c := &crew{turns: make([]chan *turn, parallelDialers)}
	ctx := context.Background()
	for g := range parallelDialers {
		c.turns[g] = make(chan *turn)
		dial := d.dial(g)
		c.done.Go(func() {
			n := g
			for t := range c.turns[g] {
				l := t.lat[g][:0]
				for ; !t.stop.Load(); n++ {
					t0 := time.Now()
					conn, err := dial(ctx, "tcp", addrs[n%len(addrs)])
					if err != nil {
						t.errs[g]++
						msg := err.Error()
						t.first.CompareAndSwap(nil, &msg)
						continue
					}
					l = append(l, time.Since(t0))
					conn.Close()
				}
				t.lat[g] = l
				t.wg.Done()
			}
		})
	}
	return c
}

// turn has the crew dial for parallelSlice.
func (c *crew) turn() roundResult {
	t := &turn{lat: make([][]time.Duration, parallelDialers), errs: make([]int, parallelDialers)}
	for g := range t.lat {
		t.lat[g] = make([]time.Duration, 0, 256)
	}
	t.wg.Add(parallelDialers)
	start := time.Now()
	for _, ch := range c.turns {
		ch <- t
	}
	time.Sleep(parallelSlice)
	t.stop.Store(true)
	t.wg.Wait()
	r := roundResult{lat: slices.Concat(t.lat...), elapsed: time.Since(start)}
	for _, n := range t.errs {
		r.errors += n
	}
	if p := t.first.Load(); p != nil {
		r.err = *p
	}
	return r
}

// stop ends the crew's goroutines.
func (c *crew) stop() {
	for _, ch := range c.turns {
		close(ch)
	}
	c.done.Wait()
}

// reportParallel reports the rounds of each dialer, against those of the
// first (net.Dialer).
func reportParallel(b *testing.B, dialers []parallelDialer, rounds [][]roundResult) {
	ref := rounds[0]
	for i, d := range dialers {
		rates, p99s := make([]float64, len(rounds[i])), make([]float64, len(rounds[i]))
		errors, minX, maxP99X := 0, 0.0, 0.0
		for r, x := range rounds[i] {
			rates[r], p99s[r] = x.rate, float64(x.p99)
			errors += x.errors
			if x.err != "" {
				b.Logf("%s, round %d: %d errors, the first: %s", d.name, r, x.errors, x.err)
			}
			if i == 0 {
				continue
			}
			rx, px := x.rate/ref[r].rate, float64(x.p99)/float64(ref[r].p99)
			if r == 0 || rx < minX {
				minX = rx
			}
			maxP99X = max(maxP99X, px)
		}
		b.ReportMetric(medianOf(rates), d.name+"-dials/s")
		b.ReportMetric(medianOf(p99s), d.name+"-p99-ns/dial")
		b.ReportMetric(float64(errors), d.name+"-errors")
		if i > 0 {
			b.ReportMetric(minX, d.name+"-min-x")
			b.ReportMetric(maxP99X, d.name+"-max-p99-x")
		}
		b.Logf("%s: %s", d.name, roundsString(rounds[i]))
	}
}

// roundsString renders rounds for the benchmark's log.
func roundsString(rounds []roundResult) string {
	var s []string
	for _, r := range rounds {
		s = append(s, strings.TrimSpace(time.Duration(float64(time.Second)/r.rate).String())+"/dial p99 "+r.p99.String())
	}
	return strings.Join(s, "; ")
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}
