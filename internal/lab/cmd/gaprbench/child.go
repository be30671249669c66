package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/getapr/getapr/internal/lab"
	"github.com/getapr/getapr/internal/soak"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// childResult is what the run in the client namespace hands back, as JSON on
// its standard output.
type childResult struct {
	Curl      string
	ColdNew   time.Duration
	Scenarios []ScenarioResult
	Idle      *IdleResult // quiet probing, the default
	IdleEager *IdleResult // WithEagerProbing
	Recovery  *RecoveryResult
	Soak      *soak.Timeline
}

// runner runs the scenarios inside the lab's client namespace.
type runner struct {
	l       *lab.Lab
	cfg     config
	ds      *dialers
	tls     *dialers // the same methods, over TLS to port 443
	hasCurl bool
	log     io.Writer
}

// runChild is the part of the run inside the client namespace: every
// scenario, then the idle probe traffic; the result goes to out as JSON.
func runChild(ctx context.Context, cfg config, name string, out io.Writer) error {
	l, err := lab.Attach(name)
	if err != nil {
		return err
	}
	s := l.Server()
	port := strconv.Itoa(int(s.Port))
	r := &runner{l: l, cfg: cfg, log: os.Stderr, ds: &dialers{
		resolver: l.Resolver(), timeout: cfg.timeout,
		addr: net.JoinHostPort(s.Name, port), url: "http://" + net.JoinHostPort(s.Name, port) + "/",
	}}
	caFile, err := writeCA(s.CA)
	if err != nil {
		return err
	}
	defer os.Remove(caFile)
	tlsAddr := net.JoinHostPort(s.Name, strconv.Itoa(int(s.TLSPort)))
	r.tls = &dialers{resolver: l.Resolver(), timeout: cfg.timeout, addr: tlsAddr, url: "https://" + tlsAddr + "/",
		tls: &tls.Config{RootCAs: l.RootCAs(), NextProtos: []string{"h2", "http/1.1"}}, caFile: caFile}
	res := childResult{Curl: curlVersion()}
	r.hasCurl = res.Curl != ""
	if !r.hasCurl {
		fmt.Fprintln(r.log, "gaprbench: curl not found (apt-get install curl): its column stays empty")
	}
	for _, sc := range scenarios() {
		if !cfg.wants(sc.key) {
			continue
		}
		sr, err := r.scenario(ctx, sc)
		if err != nil {
			return fmt.Errorf("scenario %s: %w", sc.key, err)
		}
		res.Scenarios = append(res.Scenarios, sr)
	}
	if cfg.recoveryRuns > 0 {
		if res.Recovery, err = r.recovery(ctx); err != nil {
			return fmt.Errorf("recovery: %w", err)
		}
	}
	if cfg.soak {
		if res.Soak, err = r.soakTimeline(ctx); err != nil {
			return fmt.Errorf("soak: %w", err)
		}
	}
	if err := l.Restore(); err != nil {
		return err
	}
	if cfg.idle > 0 {
		if res.Idle, err = r.idle(ctx, false); err != nil {
			return fmt.Errorf("idle: %w", err)
		}
		if res.IdleEager, err = r.idle(ctx, true); err != nil {
			return fmt.Errorf("idle, eager: %w", err)
		}
	}
	res.ColdNew = r.ds.coldNew()
	if n := r.tls.coldNew(); n > 0 && res.ColdNew == 0 {
		res.ColdNew = n
	}
	return json.NewEncoder(out).Encode(res)
}

// scenario sets the lab up for sc and measures every method in it.
func (r *runner) scenario(ctx context.Context, sc scenario) (ScenarioResult, error) {
	if err := steps(r.l.Restore, func() error { return sc.apply(r.l) }); err != nil {
		return ScenarioResult{}, err
	}
	host := r.l.Server().Name
	if sc.host != nil {
		host = sc.host(r.l)
	}
	res := ScenarioResult{Name: sc.name, Setup: sc.setup, Limit: r.l.Uplink(sc.best).RTT, Targets: sc.targets, TLS: sc.tls, Target: host}
	ds := r.ds
	if sc.tls {
		ds = r.tls
		res.Limit *= 2
	}
	ds.target(host)
	defer ds.target(r.l.Server().Name) // what the other scenarios and the idle run dial
	fmt.Fprintf(r.log, "gaprbench: %s (limit %s ms)\n", sc.name, ms(res.Limit))
	r.method(ctx, &res, methodNetDialer, ds.net)
	if r.hasCurl {
		r.method(ctx, &res, methodCurl, ds.curl)
	}
	r.method(ctx, &res, methodPairCold, ds.cold)
	var failing []netip.Addr
	if sc.failing != nil {
		failing = sc.failing(r.l)
	}
	sel, learned, err := r.warmSelector(ctx, ds, sc, failing, &res)
	if err != nil {
		return res, err
	}
	defer sel.Close()
	res.Learned = learned
	if learned >= 0 {
		fmt.Fprintf(r.log, "  warm Selector ready after %v (failing sources %v)\n", learned.Round(time.Millisecond), failing)
	}
	var same samples
	r.method(ctx, &res, methodPairWarm, ds.warmAndSame(sel, &same))
	if len(same.s) > 0 {
		res.SamePair = summarize(same.s, r.cfg.timeout, 0)
		fmt.Fprintf(r.log, "  %-16s %s\n", "net.Dialer, same", cell(res.SamePair))
	}
	return res, ctx.Err()
}

// method measures one method and logs its summary.
func (r *runner) method(ctx context.Context, res *ScenarioResult, m int, dial dialFunc) {
	s := r.measure(ctx, dial)
	res.Results[m] = s
	fmt.Fprintf(r.log, "  %-16s %s\n", methodName(m), cell(s))
}

// measure makes cfg.dials dials. The first runs alone; if it failed, the rest
// run all at once, in parallel (they would each wait out the timeout).
func (r *runner) measure(ctx context.Context, dial dialFunc) Summary {
	one := func() Sample {
		d, err := dial(ctx)
		return Sample{D: d, Failed: err != nil}
	}
	n := r.cfg.dials
	samples := make([]Sample, n)
	samples[0] = one()
	parallel := 0
	if samples[0].Failed && n > 1 {
		parallel = n - 1
		var wg sync.WaitGroup
		for i := 1; i < n; i++ {
			wg.Go(func() { samples[i] = one() })
		}
		wg.Wait()
	} else {
		for i := 1; i < n; i++ {
			samples[i] = one()
		}
	}
	return summarize(samples, r.cfg.timeout, parallel)
}

// warmSelector returns a Selector that has dialed the server once, finished
// its first probe round and knows the failing sources (waitLearned), and how long that
// took from its first dial; the duration is negative when it did not learn
// within cfg.learn. The caller closes the Selector.
func (r *runner) warmSelector(ctx context.Context, ds *dialers, sc scenario, failing []netip.Addr, res *ScenarioResult) (*pairs.Selector, time.Duration, error) {
	sel, err := ds.newSelector()
	if err != nil {
		return nil, 0, err
	}
	if sc.announce != nil {
		if err := r.announce(ctx, sc, sel, res); err != nil {
			sel.Close()
			return nil, 0, err
		}
	}
	start := time.Now()
	_, _ = ds.warm(sel)(ctx) // makes the server a probed destination (and, with TLS, learns the middlebox); it may fail
	lctx, cancel := context.WithTimeout(ctx, r.cfg.learn)
	defer cancel()
	err = sel.Init(lctx)
	if err == nil {
		err = r.waitLearned(lctx, ds, sel, failing)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		fmt.Fprintf(r.log, "  the warm Selector did not learn within %v: %+v\n", r.cfg.learn, sel.Status().Sources)
		return sel, -1, nil
	case err != nil:
		sel.Close()
		return nil, 0, err
	}
	return sel, time.Since(start), nil
}

// announce runs sc.announce (an RA) and measures how long until sel's Status
// shows the scenario's NAT64 prefix, into res.PREF64Known.
func (r *runner) announce(ctx context.Context, sc scenario, sel *pairs.Selector, res *ScenarioResult) error {
	want := sc.pref64(r.l)
	start := time.Now()
	if err := sc.announce(r.l); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := pollEvery(wctx, time.Millisecond, func() bool { return sel.Status().PREF64 == want }); err != nil {
		fmt.Fprintf(r.log, "  the warm Selector did not learn PREF64 %v within 2s\n", want)
		return nil
	}
	res.PREF64Known = time.Since(start)
	fmt.Fprintf(r.log, "  PREF64 %v known %v after the RA was sent\n", want, res.PREF64Known.Round(100*time.Microsecond))
	return nil
}

// waitLearned waits until sel knows the failing sources: every pair it offers
// to the lab server from one of them has a dead source (a pair it no longer
// offers at all, such as a translated source whose translator was tried and
// not found, counts as known). Meanwhile it dials the server, as an
// application would (a quiet Selector learns from the application's dials). It
// returns early with ctx's error.
func (r *runner) waitLearned(ctx context.Context, ds *dialers, sel *pairs.Selector, failing []netip.Addr) error {
	host, port, _ := net.SplitHostPort(ds.addr)
	p, _ := strconv.Atoi(port)
	dial := ds.warm(sel)
	last := time.Now()
	return poll(ctx, func() bool {
		if time.Since(last) >= 250*time.Millisecond {
			_, _ = dial(ctx)
			last = time.Now()
		}
		ps, err := sel.Get(ctx, host, p)
		return err == nil && !slices.ContainsFunc(ps, func(p pairs.Pair) bool {
			return p.Health != probe.Dead && slices.Contains(failing, p.Src.Addr())
		})
	})
}

// poll calls cond every 50 ms until it holds (nil) or ctx is done (its error).
func poll(ctx context.Context, cond func() bool) error {
	return pollEvery(ctx, 50*time.Millisecond, cond)
}

// pollEvery calls cond every d until it holds (nil) or ctx is done (its error).
func pollEvery(ctx context.Context, d time.Duration, cond func() bool) error {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
