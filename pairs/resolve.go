package pairs

import (
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"net/netip"
	"reflect"
	"sync"
	"time"

	"github.com/getapr/getapr/internal/svcb"
)

// lookupFunc looks host up for network "ip4", "ip6" or "ip" (both), like
// (*net.Resolver).LookupNetIP.
type lookupFunc func(ctx context.Context, network, host string) ([]netip.Addr, error)

// answer is the result of one lookup.
type answer struct {
	addrs []netip.Addr
	err   error
}

// resolve looks the name host up for the families in f. When both are wanted, AAAA
// and A are queried in parallel; if A answers first, resolve waits up to delay for
// AAAA (RFC 8305 section 3, the Resolution Delay), and if AAAA answers first it
// waits for A, which the pairs need as a fallback. If A fails first because its
// servers did not answer (see unanswered), AAAA gets delay more too. The IPv6 addresses come first, in
// the resolver's order, then the IPv4 ones, unmapped and without duplicates. When no
// address is found, the error is the resolver's: a *net.DNSError with IsNotFound
// when both families were not found.
//
// With strict (the resolver's StrictErrors), both answers are waited for, and
// one that failed temporarily fails the lookup, as net.Dialer's does (see
// strictError).
//
// A name the system answers for itself (local: the hosts file, localhost; see
// stubConf.local) is looked up once for both families, on the caller's
// goroutine (see lookupBoth).
//
// An httptrace.ClientTrace in ctx sees the lookup as net.Dialer shows it: one
// DNSStart and one DNSDone for the name (not one per family), and no
// ConnectStart or ConnectDone for the resolver's own sockets (see noNetTrace).
func resolve(ctx context.Context, lookup lookupFunc, host string, f family, delay time.Duration, strict, local bool) ([]netip.Addr, error) {
	ctx, done := traceLookup(ctx, host)
	addrs, err := resolveFamilies(ctx, lookup, host, f, delay, strict, local)
	done(addrs, err)
	return addrs, err
}

// traceLookup reports the start of a lookup of host to an
// httptrace.ClientTrace in ctx, if any, and returns the context to look up
// under (see noNetTrace) and the func that reports its end.
func traceLookup(ctx context.Context, host string) (context.Context, func([]netip.Addr, error)) {
	ct := httptrace.ContextClientTrace(ctx)
	if ct == nil {
		return ctx, func([]netip.Addr, error) {}
	}
	if ct.DNSStart != nil {
		ct.DNSStart(httptrace.DNSStartInfo{Host: host})
	}
	return noNetTrace{ctx}, func(addrs []netip.Addr, err error) {
		if ct.DNSDone == nil {
			return
		}
		info := httptrace.DNSDoneInfo{Addrs: make([]net.IPAddr, len(addrs)), Err: err}
		for i, a := range addrs {
			info.Addrs[i] = net.IPAddr{IP: a.AsSlice(), Zone: a.Zone()}
		}
		ct.DNSDone(info)
	}
}

// noNetTrace is a context that hides the standard library's own trace hooks
// (the internal/nettrace.Trace that httptrace.WithClientTrace installs beside
// the ClientTrace) and nothing else. net.Dialer resolves under such a shadow
// too, so that the lookups' own DNS events and the resolver's connections do
// not reach the caller's trace; it can reach the internal type, we recognise
// it by its name.
type noNetTrace struct{ context.Context }

// Value returns nil for the internal trace key, else what the context holds.
func (c noNetTrace) Value(key any) any {
	if t := reflect.TypeOf(key); t != nil && t.Name() == "TraceKey" && t.PkgPath() == "internal/nettrace" {
		return nil
	}
	return c.Context.Value(key)
}

// resolveFamilies is resolve without the trace.
func resolveFamilies(ctx context.Context, lookup lookupFunc, host string, f family, delay time.Duration, strict, local bool) ([]netip.Addr, error) {
	switch {
	case !f.v6:
		return collect(host, nil, lookupAnswer(ctx, lookup, "ip4", host))
	case !f.v4:
		return collect(host, lookupAnswer(ctx, lookup, "ip6", host), nil)
	case local:
		a6, a4 := lookupBoth(ctx, lookup, host)
		return joinAnswers(ctx, host, a6, a4, strict)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	start := time.Now()
	ch4, ch6 := make(chan *answer, 1), make(chan *answer, 1)
	wg.Go(func() { ch6 <- lookupAnswer(ctx, lookup, "ip6", host) })
	wg.Go(func() { ch4 <- lookupAnswer(ctx, lookup, "ip4", host) })

	var a4, a6 *answer
	select {
	case a6 = <-ch6:
		a4 = <-ch4
	case a4 = <-ch4:
		if strict || len(a4.addrs) == 0 && !unanswered(a4, time.Since(start)) {
			a6 = <-ch6
			break
		}
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case a6 = <-ch6:
		case <-t.C: // AAAA too slow: go on with A alone
		}
	}
	return joinAnswers(ctx, host, a6, a4, strict)
}

// unansweredAfter is how long a lookup runs at least before its failure is
// taken for servers that did not answer (a timeout; one of a server, SERVFAIL,
// comes in milliseconds).
const unansweredAfter = time.Second

// unanswered reports whether a, the answer of a lookup that took took, is a
// failure of servers that did not answer. The other family's lookup, sent to
// the same servers at the same moment, is then waited for no longer than the
// Resolution Delay: net.Dialer's one lookup fails after one resolver timeout,
// where Go's cgo resolver (nsswitch.conf with mdns, resolve...) makes an "ip6"
// lookup an AAAA query and then an A one, and fails only after two.
func unanswered(a *answer, took time.Duration) bool {
	return len(a.addrs) == 0 && a.err != nil && !isNotFound(a.err) && took >= unansweredAfter
}

// joinAnswers is the result of the host's lookups: the error of one that the
// caller's context ended (endedLookup), else, with strict, the error of one
// that failed temporarily (strictError), else their answers joined
// (collect).
func joinAnswers(ctx context.Context, host string, a6, a4 *answer, strict bool) ([]netip.Addr, error) {
	if err := endedLookup(ctx, a6, a4); err != nil {
		return nil, err
	}
	if err := strictError(strict, a4, a6); err != nil {
		return nil, err
	}
	return collect(host, a6, a4)
}

// strictError returns, when strict (the resolver's StrictErrors), the error
// of the first of answers whose lookup failed temporarily (a timeout,
// SERVFAIL, a server that could not be reached), nil otherwise. Go's
// resolver, asked for both families by net.Dialer, then fails the whole
// lookup rather than return the other family's addresses; a name that is
// not found in one family (NXDOMAIN, no records) is not such a failure.
func strictError(strict bool, answers ...*answer) error {
	if !strict {
		return nil
	}
	for _, a := range answers {
		if a == nil {
			continue
		}
		if de, ok := errors.AsType[*net.DNSError](a.err); ok && (de.IsTemporary || de.IsTimeout) {
			return a.err
		}
	}
	return nil
}

// endedLookup returns the error of a lookup that the caller's context ended,
// if it ended. net.Dialer makes one lookup for both families, and a context
// that ends before it answers fails the dial with that lookup's error; with
// one lookup per family, the other may have answered first, and the dial
// fails the same way rather than go on with half an answer it cannot dial.
func endedLookup(ctx context.Context, answers ...*answer) error {
	if ctx.Err() == nil {
		return nil
	}
	for _, a := range answers {
		if a != nil && (errors.Is(a.err, context.Canceled) || errors.Is(a.err, context.DeadlineExceeded)) {
			return a.err
		}
	}
	return nil
}

// lookupBoth looks host up for both families at once, as net.Dialer does, and
// returns the answers as the lookups of each family would: a family without
// an address is not found. It serves the names the system answers for itself
// (the hosts file, localhost): no Resolution Delay to keep between the
// families, and one lookup costs half of two.
func lookupBoth(ctx context.Context, lookup lookupFunc, host string) (a6, a4 *answer) {
	addrs, err := lookup(ctx, "ip", host)
	a6, a4 = &answer{err: err}, &answer{err: err}
	for _, ip := range addrs {
		if ip.Is4() || ip.Is4In6() {
			a4.addrs = append(a4.addrs, ip.Unmap())
		} else {
			a6.addrs = append(a6.addrs, ip)
		}
	}
	for _, a := range []*answer{a6, a4} {
		if a.err == nil && len(a.addrs) == 0 {
			a.err = &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
	}
	return a6, a4
}

func lookupAnswer(ctx context.Context, lookup lookupFunc, network, host string) *answer {
	addrs, err := lookup(ctx, network, host)
	return &answer{addrs, err}
}

// collect joins the answers (nil for a lookup not made or given up on).
func collect(host string, a6, a4 *answer) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range []*answer{a6, a4} {
		if a == nil {
			continue
		}
		for _, ip := range a.addrs {
			if ip = ip.Unmap(); ip.IsValid() {
				out = append(out, ip)
			}
		}
	}
	if out = svcb.CompactAddrs(out); len(out) > 0 {
		return out, nil
	}
	return nil, lookupError(host, a6, a4)
}

// lookupError picks the error to return when the answers gave no address: an error
// other than "not found" (a timeout says more), else a not-found one.
func lookupError(host string, answers ...*answer) error {
	var notFound error
	for _, a := range answers {
		if a == nil || a.err == nil {
			continue
		}
		if dnsErr, ok := errors.AsType[*net.DNSError](a.err); ok && dnsErr.IsNotFound {
			notFound = a.err
			continue
		}
		return a.err
	}
	if notFound != nil {
		return notFound
	}
	return &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}
