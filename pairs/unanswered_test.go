package pairs

import (
	"context"
	"errors"
	"net"
	"net/http/httptrace"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"
)

// scriptedDNS answers each family's lookup after its delay: with the
// addresses given, or, with none, with err.
type scriptedDNS struct {
	after4, after6 time.Duration
	addrs          []netip.Addr
	err4, err6     error
}

func (d scriptedDNS) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	wait, err := d.after4, d.err4
	if network == "ip6" {
		wait, err = d.after6, d.err6
	}
	select {
	case <-ctx.Done():
		return nil, &net.DNSError{Err: ctx.Err().Error(), Name: host, UnwrapErr: ctx.Err()}
	case <-time.After(wait):
	}
	var out []netip.Addr
	for _, a := range d.addrs {
		if a.Is6() == (network == "ip6") {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, err
	}
	return out, nil
}

// unansweredErr is what a lookup gives when the name servers do not answer
// (glibc's EAI_AGAIN through Go's cgo resolver).
func unansweredErr(host string) error {
	return &net.DNSError{Err: "Temporary failure in name resolution", Name: host, IsTemporary: true}
}

// With a name server that does not answer and Go's cgo resolver (the default
// on the many distributions whose nsswitch.conf names mdns or resolve),
// net.Dialer's one lookup, A and AAAA together, fails after one resolver
// timeout; an "ip6" lookup there is an AAAA query and then an A one, and fails
// after two. The A lookup, sent at the same moment to the same servers, went
// unanswered: AAAA is waited for the Resolution Delay more, not for its own
// second timeout. Measured with the real resolver (resolv.conf timeout:2
// attempts:1): net.Dialer 2.0 s, PairDialer 4.0 s before.
func TestUnansweredLookupNotWaitedTwice(t *testing.T) {
	const timeout = 2 * time.Second
	dns := scriptedDNS{after4: timeout, after6: 2 * timeout, err4: unansweredErr("slow.test"), err6: unansweredErr("slow.test")}
	for _, via := range []string{"Stream", "Attempts"} {
		t.Run(via, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, _ := newTestSelector(t, homeSnapshot(), nil, withLookup(dns.lookup))
				q := Query{Network: "tcp", Host: "slow.test", Port: 443}
				var traced error
				ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
					DNSDone: func(i httptrace.DNSDoneInfo) { traced = i.Err }})
				start := time.Now()
				var err error
				if via == "Stream" {
					var st *Stream
					if st, err = s.Stream(ctx, q); err == nil {
						st.Close()
					}
				} else {
					_, err = s.Attempts(ctx, q)
				}
				took := time.Since(start)
				if de, ok := errors.AsType[*net.DNSError](err); !ok || !de.IsTemporary {
					t.Errorf("error %v; want the A lookup's", err)
				}
				if traced == nil || traced.Error() != err.Error() {
					t.Errorf("DNSDone's error %v; want the dial's, %v", traced, err)
				}
				if want := timeout + DefaultResolutionDelay; took != want {
					t.Errorf("failed after %v; want %v (net.Dialer's lookup: %v)", took, want, timeout)
				}
			})
		})
	}
}

// What is not a silent server is waited for as before: an A lookup that fails
// at once (SERVFAIL) leaves AAAA all its time, and an AAAA answer that comes
// within the Resolution Delay of an unanswered A is used.
func TestAnsweredAAAAAfterFailedA(t *testing.T) {
	v6 := ip("2001:db8:2::1")
	for _, tc := range []struct {
		name string
		dns  scriptedDNS
		took time.Duration
	}{
		{"A refused at once, AAAA slow", scriptedDNS{after4: 5 * time.Millisecond, after6: 800 * time.Millisecond,
			addrs: []netip.Addr{v6}, err4: &net.DNSError{Err: "server misbehaving", Name: "h.test", IsTemporary: true}}, 800 * time.Millisecond},
		{"A unanswered, AAAA just after", scriptedDNS{after4: 2 * time.Second, after6: 2*time.Second + 30*time.Millisecond,
			addrs: []netip.Addr{v6}, err4: unansweredErr("h.test")}, 2*time.Second + 30*time.Millisecond},
	} {
		for _, via := range []string{"Stream", "Attempts"} {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					s, _ := newTestSelector(t, homeSnapshot(), nil, withLookup(tc.dns.lookup))
					q := Query{Network: "tcp", Host: "h.test", Port: 443}
					start := time.Now()
					var first Pair
					if via == "Stream" {
						st, err := s.Stream(context.Background(), q)
						if err != nil {
							t.Fatal(err)
						}
						defer st.Close()
						var ok bool
						if first, ok = st.Next(); !ok {
							t.Fatal("no pair")
						}
					} else {
						ps, err := s.Attempts(context.Background(), q)
						if err != nil {
							t.Fatal(err)
						}
						first = ps[0]
					}
					if first.Dst.Addr() != v6 || time.Since(start) != tc.took {
						t.Errorf("first pair %v after %v; want one to %v after %v", first, time.Since(start), v6, tc.took)
					}
				})
			})
		}
	}
}
