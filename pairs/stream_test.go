package pairs

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/internal/dnsstub"
	"github.com/getapr/getapr/internal/svcb"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// scripted is a DNS of timed answers: for "name ip4", "name ip6" and "name
// https" (names canonical, with the final dot), when the answer arrives and
// what it is. A question not in the script is not found at once.
type scripted map[string]scriptedAnswer

type scriptedAnswer struct {
	after time.Duration
	addrs []netip.Addr
	svc   []svcb.Record // for https; the owner is the name, or alias
	alias string        // for https: the AliasMode target followed
	fail  bool          // a timeout (SERVFAIL-like) instead of an answer
}

func (s scripted) wait(ctx context.Context, a scriptedAnswer) error {
	t := time.NewTimer(a.after)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (s scripted) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	a, ok := s[svcb.CanonicalName(host)+" "+network]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	if err := s.wait(ctx, a); err != nil {
		return nil, &net.DNSError{Err: err.Error(), Name: host, UnwrapErr: err}
	}
	if a.fail {
		return nil, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
	}
	if len(a.addrs) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return a.addrs, nil
}

func (s scripted) https(ctx context.Context, host string, _ uint16) (*dnsstub.Service, error) {
	name := svcb.CanonicalName(host)
	a, ok := s[name+" https"]
	if !ok {
		return &dnsstub.Service{Name: name, Owner: name}, nil
	}
	if err := s.wait(ctx, a); err != nil {
		return nil, err
	}
	if a.fail {
		var svc *dnsstub.Service
		if a.alias != "" { // the alias target's lookup failed
			svc = &dnsstub.Service{Name: name, Owner: a.alias, Alias: a.alias}
		}
		return svc, &net.DNSError{Err: "i/o timeout", Name: host, IsTimeout: true}
	}
	return &dnsstub.Service{Name: name, Owner: cmp.Or(a.alias, name), Records: a.svc, Alias: a.alias}, nil
}

func (s scripted) selector(t *testing.T, opts ...Option) *Selector {
	sel, _ := newTestSelector(t, homeSnapshot(), nil,
		append([]Option{withLookup(s.lookup), withHTTPSLookup(s.https)}, opts...)...)
	return sel
}

// take takes every pair the stream has now, as "src dst" strings.
// awaitDone waits until every answer of st is in.
func awaitDone(st *Stream) {
	for {
		changed := st.Changed() // before Done: see Changed
		if st.Done() {
			return
		}
		<-changed
	}
}

func take(st *Stream) []string {
	var out []string
	for {
		p, ok := st.Next()
		if !ok {
			return out
		}
		out = append(out, p.Src.Addr().String()+" "+p.Dst.String())
	}
}

const (
	gua  = "2001:db8:1::10"
	ula  = "fd00:1::10"
	v4   = "192.168.1.10"
	dst6 = "2001:db8:2::1"
	dst4 = "198.51.100.1"
)

func pair(src, dst string) string { return src + " " + dst }

// TestStreamLateAAAA: A first, AAAA 300 ms later. The Stream starts after
// the Resolution Delay with the IPv4 pair; the IPv6 pairs join when AAAA
// arrives.
func TestStreamLateAAAA(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := scripted{
			"server.test. ip4": {after: 5 * time.Millisecond, addrs: []netip.Addr{ip(dst4)}},
			"server.test. ip6": {after: 300 * time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
		}
		sel := dns.selector(t)
		t0 := time.Now()
		st, err := sel.Stream(t.Context(), Query{Host: "server.test", Port: 443})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if got := time.Since(t0); got != 55*time.Millisecond {
			t.Errorf("Stream returned after %v, want 5 ms + the 50 ms Resolution Delay", got)
		}
		if got, want := take(st), []string{pair(v4, dst4+":443")}; !slices.Equal(got, want) {
			t.Errorf("at start: %q, want %q", got, want)
		}
		if st.Done() {
			t.Error("Done before AAAA")
		}
		<-st.Changed()
		if got := time.Since(t0); got != 300*time.Millisecond {
			t.Errorf("changed after %v, want 300 ms", got)
		}
		want := []string{pair(gua, "["+dst6+"]:443"), pair(ula, "["+dst6+"]:443")}
		if got := take(st); !slices.Equal(got, want) {
			t.Errorf("after AAAA: %q, want %q", got, want)
		}
		if !st.Done() {
			t.Error("not Done after both answers")
		}
	})
}

// TestStreamLocalIPv4NoResolutionDelay: with an IPv4 local address only IPv4
// pairs exist, so the Stream starts with the A answer, without waiting for
// AAAA (the Resolution Delay is for the preferred family's answer).
func TestStreamLocalIPv4NoResolutionDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := scripted{
			"server.test. ip4": {after: time.Millisecond, addrs: []netip.Addr{ip(dst4)}},
			"server.test. ip6": {after: 300 * time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
		}
		sel := dns.selector(t)
		t0 := time.Now()
		st, err := sel.Stream(t.Context(), Query{Host: "server.test", Port: 443, Local: netip.AddrPortFrom(ip(v4), 0)})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if got := time.Since(t0); got != time.Millisecond {
			t.Errorf("Stream returned after %v, want 1 ms (the A answer)", got)
		}
		if got, want := take(st), []string{pair(v4, dst4+":443")}; !slices.Equal(got, want) {
			t.Errorf("at start: %q, want %q", got, want)
		}
	})
}

// TestStreamInterleavesLateArrivals: AAAA first (the race starts at once),
// A later: the IPv4 pair goes next, before the second IPv6 pair, as if it
// had been there from the start.
func TestStreamInterleavesLateArrivals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := scripted{
			"server.test. ip6": {after: 5 * time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
			"server.test. ip4": {after: 100 * time.Millisecond, addrs: []netip.Addr{ip(dst4)}},
		}
		sel := dns.selector(t)
		t0 := time.Now()
		st, err := sel.Stream(t.Context(), Query{Host: "server.test", Port: 443})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if got := time.Since(t0); got != 5*time.Millisecond {
			t.Errorf("Stream returned after %v, want at the AAAA answer (5 ms): the preferred family", got)
		}
		first, _ := st.Next()
		if got := pair(first.Src.Addr().String(), first.Dst.String()); got != pair(gua, "["+dst6+"]:443") {
			t.Errorf("first %s", got)
		}
		<-st.Changed()
		want := []string{pair(v4, dst4+":443"), pair(ula, "["+dst6+"]:443")}
		if got := take(st); !slices.Equal(got, want) {
			t.Errorf("after A: %q, want %q (IPv4 next, families interleaved)", got, want)
		}
	})
}

// TestStreamHTTPS: hints before A and AAAA, the record's port, two
// priorities, an endpoint of a protocol the client lacks, and hints that the
// answers do not confirm.
func TestStreamHTTPS(t *testing.T) {
	h2 := []string{"h2"}
	t.Run("hints first, then answers replace them", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dns := scripted{
				"svc.test. https": {after: 10 * time.Millisecond, svc: []svcb.Record{{Priority: 1, Target: ".", ALPN: h2, Port: 8443,
					IPv6Hint: []netip.Addr{ip(dst6), ip("2001:db8:2::99")}, IPv4Hint: []netip.Addr{ip(dst4)}}}},
				"svc.test. ip6": {after: 300 * time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
				"svc.test. ip4": {after: 300 * time.Millisecond, addrs: []netip.Addr{ip(dst4)}},
			}
			sel := dns.selector(t)
			t0 := time.Now()
			st, err := sel.Stream(t.Context(), Query{Host: "svc.test", Port: 443, HTTPS: true, ALPN: h2})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if got := time.Since(t0); got != 10*time.Millisecond {
				t.Errorf("a hint-only answer started the race after %v, want 10 ms", got)
			}
			p, _ := st.Next()
			if p.Dst != netip.MustParseAddrPort("["+dst6+"]:8443") || p.Service == nil || !p.Service.Hint || p.Service.Priority != 1 {
				t.Errorf("first pair %v service %+v; want the hint, at the record's port", p.Dst, p.Service)
			}
			if st.Left() != 4 { // ULA to dst6, v4, and both sources to the unconfirmed hint
				t.Errorf("%d pairs left, want 4", st.Left())
			}
			awaitDone(st)
			// The AAAA answer did not confirm 2001:db8:2::99: its pairs are gone.
			// After the record's pairs, the origin's at the origin's port (RFC
			// 9460 section 3).
			got := take(st)
			want := []string{pair(v4, dst4+":8443"), pair(ula, "["+dst6+"]:8443"),
				pair(gua, "["+dst6+"]:443"), pair(v4, dst4+":443"), pair(ula, "["+dst6+"]:443")}
			if !slices.Equal(got, want) {
				t.Errorf("after the answers: %q; want %q: the ULA and IPv4 pairs of the record, the unconfirmed hint dropped, then the origin's", got, want)
			}
		})
	})
	t.Run("priorities, alpn", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dns := scripted{
				"svc.test. https": {after: time.Millisecond, svc: []svcb.Record{
					{Priority: 2, Target: "p2.test.", ALPN: h2},
					{Priority: 1, Target: "p1.test.", ALPN: h2},
					{Priority: 1, Target: "h3.test.", ALPN: []string{"h3"}, NoDefaultALPN: true}}},
				"p1.test. ip4":  {after: 2 * time.Millisecond, addrs: []netip.Addr{ip("198.51.100.11")}},
				"p1.test. ip6":  {after: 2 * time.Millisecond, addrs: []netip.Addr{ip("2001:db8:2::11")}},
				"p2.test. ip4":  {after: 2 * time.Millisecond, addrs: []netip.Addr{ip("198.51.100.22")}},
				"p2.test. ip6":  {after: 2 * time.Millisecond, addrs: []netip.Addr{ip("2001:db8:2::22")}},
				"h3.test. ip6":  {after: 2 * time.Millisecond, addrs: []netip.Addr{ip("2001:db8:2::33")}},
				"svc.test. ip6": {after: 2 * time.Millisecond, addrs: []netip.Addr{ip("2001:db8:2::44")}},
			}
			sel := dns.selector(t)
			st, err := sel.Stream(t.Context(), Query{Host: "svc.test", Port: 443, HTTPS: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			awaitDone(st)
			var got []string
			for {
				p, ok := st.Next()
				if !ok {
					break
				}
				prio := uint16(0)
				if p.Service != nil {
					prio = p.Service.Priority
				}
				got = append(got, strings.Repeat("*", int(prio))+p.Dst.Addr().String())
			}
			want := []string{"*2001:db8:2::11", "*198.51.100.11", "*2001:db8:2::11",
				"**2001:db8:2::22", "**198.51.100.22", "**2001:db8:2::22", "2001:db8:2::44", "2001:db8:2::44"}
			if !slices.Equal(got, want) {
				t.Errorf("order %q\nwant %q (priority 1 first, h3-only skipped, the origin's own addresses last)", got, want)
			}
		})
	})
}

// TestStreamAlias checks that an AliasMode record's target is asked for its
// addresses, which go before the origin's own (RFC 9460 section 3), also when
// the target has no HTTPS records or their lookup fails, and that an apex
// without addresses is then still reached.
func TestStreamAlias(t *testing.T) {
	for _, tc := range []struct {
		name   string
		https  scriptedAnswer
		origin bool // the origin has addresses of its own
		want   []string
	}{
		{"target without records, apex without addresses", scriptedAnswer{alias: "cdn.test."}, false,
			[]string{pair(gua, "["+dst6+"]:443"), pair(v4, "198.51.100.9:443"), pair(ula, "["+dst6+"]:443")}},
		{"target without records, then the apex's", scriptedAnswer{alias: "cdn.test."}, true,
			[]string{pair(gua, "["+dst6+"]:443"), pair(v4, "198.51.100.9:443"), pair(ula, "["+dst6+"]:443"),
				pair(gua, "[2001:db8:2::44]:443"), pair(ula, "[2001:db8:2::44]:443")}},
		{"target's HTTPS lookup failed", scriptedAnswer{alias: "cdn.test.", fail: true}, false,
			[]string{pair(gua, "["+dst6+"]:443"), pair(v4, "198.51.100.9:443"), pair(ula, "["+dst6+"]:443")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dns := scripted{
					"apex.test. https": tc.https,
					"cdn.test. ip6":    {after: time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
					"cdn.test. ip4":    {after: time.Millisecond, addrs: []netip.Addr{ip("198.51.100.9")}},
				}
				if tc.origin {
					dns["apex.test. ip6"] = scriptedAnswer{addrs: []netip.Addr{ip("2001:db8:2::44")}}
				}
				st, err := dns.selector(t).Stream(t.Context(), Query{Host: "apex.test", Port: 443, HTTPS: true})
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				awaitDone(st)
				if got := take(st); !slices.Equal(got, tc.want) {
					t.Errorf("order %q\nwant %q", got, tc.want)
				}
			})
		})
	}
}

// TestStreamMiddlebox: for a TLS query, a pair through a middlebox goes after
// the others; a plain TCP query ranks it as before.
func TestStreamMiddlebox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := scripted{"server.test. ip6": {addrs: []netip.Addr{ip(dst6)}}, "server.test. ip4": {addrs: []netip.Addr{ip(dst4)}}}
		sel := dns.selector(t)
		dst := netip.MustParseAddrPort("[" + dst6 + "]:443")
		sel.Report(probe.Outcome{Path: probe.Path{Src: netip.AddrPortFrom(ip(gua), 0), Dst: dst}, Result: probe.Middlebox,
			Start: time.Now(), Duration: 200 * time.Millisecond})
		for _, tls := range []bool{false, true} {
			st, err := sel.Stream(t.Context(), Query{Host: "server.test", Port: 443, TLS: tls})
			if err != nil {
				t.Fatal(err)
			}
			// Both answers are in before the first Next: a pair that joins
			// mid-race goes after the ones already handed out.
			awaitDone(st)
			got := take(st)
			st.Close()
			guaAt := slices.Index(got, pair(gua, dst.String()))
			if tls && guaAt != len(got)-1 || !tls && guaAt != 0 {
				t.Errorf("TLS %v: order %q; the GUA pair through the middlebox at %d", tls, got, guaAt)
			}
		}
		ps, err := sel.Get(t.Context(), "server.test", 443)
		if err != nil || !ps[0].Middlebox || !strings.Contains(ps[0].Reason, "middlebox") {
			t.Errorf("Get: first pair %+v, %v; want the verdict on the pair and in its reason", ps[0], err)
		}
	})
}

func TestStreamErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sel := scripted{}.selector(t)
		_, err := sel.Stream(t.Context(), Query{Host: "nx.test", Port: 443})
		if de, ok := errors.AsType[*net.DNSError](err); !ok || !de.IsNotFound {
			t.Errorf("unknown name: %v", err)
		}
		dns := scripted{"v6.test. ip6": {addrs: []netip.Addr{ip(dst6)}}}
		sel = dns.selector(t)
		_, err = sel.Stream(t.Context(), Query{Host: "v6.test", Port: 443, Local: netip.MustParseAddrPort(v4 + ":0")})
		if ae, ok := errors.AsType[*net.AddrError](err); !ok || ae.Err != "no suitable address found" {
			t.Errorf("IPv4 local address, AAAA-only name: %v", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		dns = scripted{"slow.test. ip6": {after: time.Hour}, "slow.test. ip4": {after: time.Hour}}
		sel = dns.selector(t)
		time.AfterFunc(time.Second, cancel)
		_, err = sel.Stream(ctx, Query{Host: "slow.test", Port: 443})
		if de, ok := errors.AsType[*net.DNSError](err); !ok || !errors.Is(err, context.Canceled) {
			t.Errorf("canceled: %v (%T), want the lookup's *net.DNSError", err, de)
		}
		// The context has ended, but AAAA answers before its lookup notices;
		// A's lookup notices: the dial fails with A's error, as net.Dialer's
		// one lookup for both families does.
		half := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
			if network == "ip6" {
				return []netip.Addr{ip(dst6)}, nil
			}
			<-ctx.Done()
			return nil, &net.DNSError{Err: ctx.Err().Error(), Name: host, UnwrapErr: ctx.Err()}
		}
		sel = scripted{}.selector(t, withLookup(half))
		var done []httptrace.DNSDoneInfo
		ctx, cancel = context.WithCancel(httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			DNSDone: func(i httptrace.DNSDoneInfo) { done = append(done, i) }}))
		cancel()
		_, err = sel.Stream(ctx, Query{Host: "half.test", Port: 443})
		if de, ok := errors.AsType[*net.DNSError](err); !ok || !errors.Is(err, context.Canceled) {
			t.Errorf("canceled, AAAA answered: %v (%T), want A's *net.DNSError", err, de)
		}
		if len(done) != 1 || len(done[0].Addrs) != 0 || !errors.Is(done[0].Err, context.Canceled) {
			t.Errorf("canceled, AAAA answered: DNSDone %+v, want once, no addresses, A's error", done)
		}
		st, err := sel.Stream(t.Context(), Query{Host: "192.0.2.7", Port: 80})
		if err != nil || st.Left() != 1 || !st.Done() {
			t.Errorf("literal: %v, %d pairs", err, st.Left())
		}
	})
}

// TestStreamService: with ECH, a handshake waits for the HTTPS answer; a
// pair taken before it arrived still gets its record.
func TestStreamService(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ech := []byte{0, 1, 2}
		dns := scripted{
			"svc.test. ip6":   {after: time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
			"svc.test. https": {after: 200 * time.Millisecond, svc: []svcb.Record{{Priority: 1, Target: ".", ECH: ech}}},
		}
		sel := dns.selector(t, WithResolutionDelay(20*time.Millisecond))
		t0 := time.Now()
		st, err := sel.Stream(t.Context(), Query{Host: "svc.test", Port: 443, HTTPS: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if got := time.Since(t0); got != 21*time.Millisecond {
			t.Errorf("started after %v, want the Resolution Delay after AAAA (HTTPS pending)", got)
		}
		p, _ := st.Next()
		if p.Service != nil {
			t.Errorf("a pair before the HTTPS answer has a service %+v", p.Service)
		}
		s, err := st.Service(t.Context(), p)
		if err != nil || s == nil || !slices.Equal(s.ECH, ech) || time.Since(t0) != 200*time.Millisecond {
			t.Errorf("Service = %+v, %v after %v; want the ech config at 200 ms", s, err, time.Since(t0))
		}
	})
}

// TestStreamECHReliant: when every HTTPS record offers ECH, a query for an
// ECH dial gets no pair to the origin's own address (no record covers it),
// and Service refuses such a pair taken before the answer came in; without
// ECH the origin's address stays, last.
func TestStreamECHReliant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ech := []byte{0, 1, 2}
		const cdn6 = "2001:db8:c::1"
		dns := scripted{
			"svc.test. ip6":   {after: time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
			"svc.test. https": {after: 200 * time.Millisecond, svc: []svcb.Record{{Priority: 1, Target: "cdn.test.", ECH: ech}}},
			"cdn.test. ip6":   {after: time.Millisecond, addrs: []netip.Addr{ip(cdn6)}},
		}
		for _, useECH := range []bool{true, false} {
			sel := dns.selector(t, WithResolutionDelay(20*time.Millisecond))
			st, err := sel.Stream(t.Context(), Query{Host: "svc.test", Port: 443, TLS: true, HTTPS: true, ECH: useECH})
			if err != nil {
				t.Fatal(err)
			}
			early, _ := st.Next() // the origin's address, before the HTTPS answer
			_, err = st.Service(t.Context(), early)
			if useECH != (err != nil) {
				t.Errorf("ECH %v: Service(%v) error %v", useECH, early.Dst, err)
			}
			awaitDone(st)
			left := take(st) // the origin's address from the other source, and cdn's
			origin := slices.ContainsFunc(left, func(s string) bool { return strings.Contains(s, "["+dst6+"]") })
			if origin == useECH || !slices.ContainsFunc(left, func(s string) bool { return strings.Contains(s, cdn6) }) {
				t.Errorf("ECH %v: pairs left %q", useECH, left)
			}
			st.Close()
		}
	})
}

// Service keeps the record a pair was handed out for: to a hint that the
// target's address answer dropped since (the attempt under way keeps it), and
// through a NAT64 (the endpoint is the IPv4 address the pair stands for).
func TestStreamServiceOfHandedOutPairs(t *testing.T) {
	ech := []byte{0, 1, 2}
	t.Run("dropped hint", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dns := scripted{
				"svc.test. https": {after: time.Millisecond, svc: []svcb.Record{{Priority: 1, Target: "cdn.test.", ECH: ech, IPv6Hint: []netip.Addr{ip("2001:db8:c::9")}}}},
				"cdn.test. ip6":   {after: 100 * time.Millisecond, addrs: []netip.Addr{ip("2001:db8:c::8")}},
			}
			sel := dns.selector(t)
			st, err := sel.Stream(t.Context(), Query{Host: "svc.test", Port: 443, TLS: true, HTTPS: true, ECH: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			p, ok := st.Next()
			if !ok || p.Dst.Addr() != ip("2001:db8:c::9") {
				t.Fatalf("first pair %v, %v; want one to the hint", p.Dst, ok)
			}
			awaitDone(st)
			if svc, err := st.Service(t.Context(), p); err != nil || svc == nil || !slices.Equal(svc.ECH, ech) {
				t.Errorf("Service of the hint's pair after the answer dropped it: %+v, %v; want the record's ECH", svc, err)
			}
		})
	})
	t.Run("through a NAT64", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			// The HTTPS answer comes after the pair is handed out (without a
			// Service): Service must find the record through the IPv4 address.
			dns := scripted{
				"aonly.test. ip4":   {addrs: []netip.Addr{ip("192.0.2.10")}},
				"aonly.test. https": {after: 100 * time.Millisecond, svc: []svcb.Record{{Priority: 1, Target: ".", ECH: ech}}},
			}
			sel, _ := newTestSelector(t, ipv6Only(routedNAT64Snapshot(true)), nil, withLookup(dns.lookup), withHTTPSLookup(dns.https))
			st, err := sel.Stream(t.Context(), Query{Network: "tcp", Host: "aonly.test", Port: 443, TLS: true, HTTPS: true, ECH: true})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			p, ok := st.Next()
			if !ok || !p.Synthesized.IsValid() || p.Service != nil {
				t.Fatalf("first pair %+v, %v; want one through the NAT64, handed out before the HTTPS answer", p, ok)
			}
			if svc, err := st.Service(t.Context(), p); err != nil || svc == nil || !slices.Equal(svc.ECH, ech) {
				t.Errorf("Service of a pair through the NAT64: %+v, %v; want the record's ECH", svc, err)
			}
		})
	})
}

// TestStreamTrace: one DNSStart and one DNSDone, the latter when both
// families have answered, with their addresses.
func TestStreamTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := scripted{
			"server.test. ip4": {after: 5 * time.Millisecond, addrs: []netip.Addr{ip(dst4)}},
			"server.test. ip6": {after: 300 * time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
		}
		sel := dns.selector(t)
		var mu sync.Mutex
		var events []string
		t0 := time.Now()
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			DNSStart: func(i httptrace.DNSStartInfo) {
				mu.Lock()
				defer mu.Unlock()
				events = append(events, "start "+i.Host)
			},
			DNSDone: func(i httptrace.DNSDoneInfo) {
				mu.Lock()
				defer mu.Unlock()
				var as []string
				for _, a := range i.Addrs {
					as = append(as, a.String())
				}
				events = append(events, "done "+strings.Join(as, ",")+" "+time.Since(t0).String())
			},
		})
		st, err := sel.Stream(ctx, Query{Host: "server.test", Port: 443})
		if err != nil {
			t.Fatal(err)
		}
		awaitDone(st)
		st.Close()
		want := []string{"start server.test", "done 2001:db8:2::1,198.51.100.1 300ms"}
		if !slices.Equal(events, want) {
			t.Errorf("trace %q, want %q", events, want)
		}
	})
}

// TestStreamCloseStopsLookups: Close ends the lookups still running (the
// bubble would not end otherwise).
func TestStreamCloseStopsLookups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dns := scripted{
			"server.test. ip4":   {addrs: []netip.Addr{ip(dst4)}},
			"server.test. ip6":   {after: time.Hour, addrs: []netip.Addr{ip(dst6)}},
			"server.test. https": {after: time.Hour},
		}
		st, err := dns.selector(t).Stream(t.Context(), Query{Host: "server.test", Port: 443, HTTPS: true})
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		st.Close()
		if !st.Done() {
			t.Error("lookups still running after Close")
		}
	})
}

// twoInterfaces is homeSnapshot with a second interface, eth1 (index 3), that
// has a GUA of its own.
func twoInterfaces() *netstate.Snapshot {
	s := homeSnapshot()
	s.Links = append(s.Links, link(3, "eth1"))
	s.Addrs = append(s.Addrs, addr("2001:db8:3::10/64", 3, "eth1"))
	s.Routes = append(s.Routes, route("2001:db8:3::/64", "", 3), route("::/0", "fe80::3", 3))
	return s
}

// TestOrderMiddleboxInterface: for a TLS dial, a verdict on one source of an
// interface moves that interface's other sources after the other
// interface's too (an intercepting uplink takes all of them), the verdict's
// own pair last.
func TestOrderMiddleboxInterface(t *testing.T) {
	dns := fakeDNS{"server.test": {ip(dst6), ip(dst4)}}
	sel, _ := newTestSelector(t, twoInterfaces(), dns)
	sel.Report(probe.Outcome{Path: probe.Path{Src: netip.AddrPortFrom(ip(gua), 0), Dst: netip.MustParseAddrPort("[" + dst6 + "]:443")},
		Result: probe.Middlebox, Start: time.Now(), Duration: 200 * time.Millisecond})
	ps, err := sel.Attempts(t.Context(), Query{Host: "server.test", Port: 443, TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.Interface+" "+p.Src.Addr().String())
	}
	want := []string{"eth1 2001:db8:3::10", "eth0 " + ula, "eth0 " + v4, "eth0 " + gua}
	if !slices.Equal(got, want) {
		t.Errorf("order %q\nwant %q", got, want)
	}
}

// TestStreamLeftDuplicatePair: Left is the number of pairs Next still
// returns, also when the order holds a pair twice: an HTTPS record whose
// target's AAAA answer is a DNS64 address under the known PREF64, and the
// origin's A answer of the IPv4 address it stands for, are two endpoints
// that desynthesis makes one pair. (A Left above 0 with nothing to take
// would make a race whose attempts all failed wait for a pair that never
// comes.)
func TestStreamLeftDuplicatePair(t *testing.T) {
	v4dst := netip.MustParseAddr("198.51.100.7")
	b := labPREF64.Addr().As16()
	copy(b[12:], v4dst.AsSlice())
	synth := netip.AddrFrom16(b)
	dns := scripted{
		"svc.test. https": {after: time.Millisecond, svc: []svcb.Record{{Priority: 1, Target: "cdn.test."}}},
		"cdn.test. ip6":   {after: time.Millisecond, addrs: []netip.Addr{synth}},
		"svc.test. ip4":   {after: time.Millisecond, addrs: []netip.Addr{v4dst}},
	}
	sel, _ := newTestSelector(t, routedNAT64Snapshot(true), nil, withLookup(dns.lookup), withHTTPSLookup(dns.https))
	st, err := sel.Stream(t.Context(), Query{Network: "tcp", Host: "svc.test", Port: 443, HTTPS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	awaitDone(st)
	for i := 0; ; i++ {
		left := st.Left()
		p, ok := st.Next()
		t.Logf("Left %d, Next %v %v", left, p.Src.Addr().String()+" "+p.Dst.String(), ok)
		if !ok {
			if left != 0 {
				t.Errorf("Left() = %d, but Next returns no pair", left)
			}
			break
		}
		if left == 0 {
			t.Errorf("Left() = 0, but Next returns %v", p)
		}
		if i > 20 {
			t.Fatal("too many pairs")
		}
	}
}

// wgSnapshot is homeSnapshot whose IPv6 default route goes through a
// point-to-point tunnel (wg0, index 3) without a gateway, as WireGuard,
// OpenVPN and PPP install it: "::/0 dev wg0". netstate's Gateway6 is then
// invalid (defaultGateway needs a gateway), though IPv6 has a default route.
func wgSnapshot() *netstate.Snapshot {
	s := homeSnapshot()
	s.Links = append(s.Links, link(3, "wg0"))
	s.Addrs = []netstate.Addr{
		addr("2001:db8:1::10/128", 3, "wg0"),
		addr("192.168.1.10/24", 2, "eth0"),
	}
	s.Routes = []netstate.Route{
		route("::/0", "", 3),
		route("192.168.1.0/24", "", 2),
		route("0.0.0.0/0", "192.168.1.1", 2),
	}
	s.Gateway6 = netip.Addr{}
	return s
}

// pppSnapshot is an IPv4-only host whose default route is a point-to-point
// link without a gateway (PPPoE: "default dev ppp0"); no IPv6 at all.
func pppSnapshot() *netstate.Snapshot {
	return &netstate.Snapshot{
		Generation: 1,
		Links:      []netstate.Link{{Index: 1, Name: "lo", Up: true, Running: true, Loopback: true}, link(2, "ppp0")},
		Addrs:      []netstate.Addr{addr("203.0.113.10/32", 2, "ppp0")},
		Routes:     []netstate.Route{route("0.0.0.0/0", "", 2)},
	}
}

// TestStreamPreferredFamilyByDefaultRoute: the preferred family, whose answer
// the Stream waits for (up to the Resolution Delay), is the one with a default
// route, IPv6 when both have one (HEV3.md phase 2): a default route without a
// gateway counts, as tunnels and PPP links install them.
func TestStreamPreferredFamilyByDefaultRoute(t *testing.T) {
	t.Run("IPv6 default route via a tunnel, IPv4 via a gateway", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dns := scripted{
				"server.test. ip4": {after: time.Millisecond, addrs: []netip.Addr{ip(dst4)}},
				"server.test. ip6": {after: 20 * time.Millisecond, addrs: []netip.Addr{ip(dst6)}},
			}
			sel, _ := newTestSelector(t, wgSnapshot(), nil, withLookup(dns.lookup), withHTTPSLookup(dns.https))
			t0 := time.Now()
			st, err := sel.Stream(t.Context(), Query{Host: "server.test", Port: 443})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			took := time.Since(t0)
			p, _ := st.Next()
			if took != 20*time.Millisecond || !p.Dst.Addr().Is6() {
				t.Errorf("Stream started after %v with %v first; want after the AAAA answer (20 ms, IPv6 is the preferred family: both families have a default route) with an IPv6 pair first", took, p.Dst)
			}
		})
	})
	t.Run("IPv4-only host, default route via PPP", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			dns := scripted{
				"server.test. ip4": {after: time.Millisecond, addrs: []netip.Addr{ip(dst4)}},
				"server.test. ip6": {after: 300 * time.Millisecond}, // slow NODATA
			}
			sel, _ := newTestSelector(t, pppSnapshot(), nil, withLookup(dns.lookup), withHTTPSLookup(dns.https))
			t0 := time.Now()
			st, err := sel.Stream(t.Context(), Query{Host: "server.test", Port: 443})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if took := time.Since(t0); took != time.Millisecond {
				t.Errorf("Stream started after %v; want at the A answer (1 ms): IPv4 is the only family with a default route, so the preferred one", took)
			}
			if got := take(st); len(got) != 1 {
				t.Errorf("pairs %q, want the one IPv4 pair", got)
			}
		})
	})
}
