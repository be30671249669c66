package pairs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/getapr/getapr/netstate"
)

// soliciting is a Static watcher whose routers answer a Router Solicitation
// after answerIn with an RA giving eth1 the lab's NAT64 prefix (never when
// answerIn is zero), or that refuses with err.
type soliciting struct {
	*netstate.Static
	answerIn time.Duration
	err      error
	// failLink, when not zero, is a link whose sends fail with linkErr.
	failLink int
	linkErr  error
	start    time.Time // the bubble's

	mu    sync.Mutex
	calls []solicitCall
}

type solicitCall struct {
	at    time.Duration // since the bubble's start
	links []int
}

func (w *soliciting) SolicitRouters(indexes ...int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, solicitCall{time.Since(w.start), slices.Clone(indexes)})
	if w.err != nil {
		return w.err
	}
	if w.failLink != 0 && slices.Contains(indexes, w.failLink) {
		return fmt.Errorf("link %d: %w", w.failLink, os.NewSyscallError("sendto", w.linkErr))
	}
	if w.answerIn > 0 {
		time.AfterFunc(w.answerIn, func() {
			s := ipv6Only(routedNAT64Snapshot(true))
			s.Generation = w.Snapshot().Generation + 1
			w.Set(s)
		})
	}
	return nil
}

func (w *soliciting) solicited() []solicitCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.calls)
}

// solicitingSelector returns a Selector over a soliciting watcher of an
// IPv6-only host that knows no NAT64 prefix and has no DNS64.
func solicitingSelector(t *testing.T, answerIn time.Duration, err error) (*Selector, *soliciting) {
	t.Helper()
	return newSoliciting(t, ipv6Only(routedNAT64Snapshot(false)), answerIn, err)
}

// newSoliciting returns a Selector with opts over a soliciting watcher of
// snap, resolving aonly.test (an A record) and v6.test (an AAAA record).
func newSoliciting(t *testing.T, snap *netstate.Snapshot, answerIn time.Duration, err error, opts ...Option) (*Selector, *soliciting) {
	t.Helper()
	w := &soliciting{Static: netstate.NewStatic(snap), answerIn: answerIn, err: err, start: time.Now()}
	names := fakeDNS{"aonly.test": {ip("192.0.2.10")}, "v6.test": {ip("2001:db8:5::10")}}
	opts = append([]Option{WithWatcher(w), WithoutProbing(), withLookup(names.lookup)}, opts...)
	s, serr := New(opts...)
	if serr != nil {
		t.Fatal(serr)
	}
	t.Cleanup(func() { s.Close(); w.Close() })
	return s, w
}

// A dial to an IPv4 literal on an IPv6-only host that knows no NAT64 prefix
// asks the routers of its links without one for an RA, and waits for the
// answer: the prefix it brings synthesizes the destination.
func TestNAT64SolicitsRouters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, w := solicitingSelector(t, 30*time.Millisecond, nil)
		ctx := context.Background()
		// Nothing asked for a dial that needs no prefix.
		if _, err := s.Get(ctx, "v6.test", 80); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, "2001:db8:5::10", 80); err != nil {
			t.Fatal(err)
		}
		if got := w.solicited(); len(got) != 0 {
			t.Fatalf("solicited %+v for IPv6 destinations", got)
		}
		start := time.Now()
		ps, err := s.Get(ctx, "192.0.2.10", 80)
		if err != nil || len(ps) == 0 || ps[0].Dst.Addr() != ip("2001:db8:6464::c000:20a") {
			t.Fatalf("literal: %v, %v", pairText(ps), err)
		}
		if d := time.Since(start); d != 30*time.Millisecond {
			t.Errorf("the literal waited %v; want the RA's 30ms", d)
		}
		if got := w.solicited(); len(got) != 2 || !slices.Equal(got[0].links, []int{2}) || !slices.Equal(got[1].links, []int{3}) {
			t.Errorf("solicited %+v; want once on link 2, once on link 3", got)
		}
		// Known now (eth1's): no more solicitation for it, no wait.
		start = time.Now()
		if _, err := s.Get(ctx, "192.0.2.11", 80); err != nil || time.Since(start) != 0 {
			t.Fatalf("second literal: %v after %v", err, time.Since(start))
		}
		if got := w.solicited(); len(got) != 2 {
			t.Errorf("solicited %+v; want no second one within %v", got, raSolicitFirst)
		}
	})
}

// A Stream (the dialer's path for names) waits for the routers' answer as for
// one more DNS answer, when the name has no pair without it.
func TestNAT64StreamSolicitsRouters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, w := solicitingSelector(t, 20*time.Millisecond, nil)
		start := time.Now()
		st, err := s.Stream(context.Background(), Query{Network: "tcp", Host: "aonly.test", Port: 80})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		awaitDone(st)
		got := take(st)
		want := []string{"2001:db8:b:1::100 [2001:db8:6464::c000:20a]:80", "2001:db8:b:1::200 [2001:db8:6464::c000:20a]:80"}
		if !slices.Equal(got, want) || time.Since(start) != 20*time.Millisecond {
			t.Errorf("after %v:\n got %q\nwant %q after 20ms", time.Since(start), got, want)
		}
		if n := len(w.solicited()); n != 2 {
			t.Errorf("%d solicitations, want 2 (links 2 and 3)", n)
		}
	})
}

// When no RA answers, a dial waits raWait once and fails; the next dials fail
// at once, and the links are asked again only after raSolicitFirst, then
// after twice that.
func TestNAT64SolicitBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, w := solicitingSelector(t, 0, nil)
		ctx := context.Background()
		dial := func() time.Duration {
			start := time.Now()
			var npe *NoPairError
			if _, err := s.Get(ctx, "192.0.2.10", 80); !errors.As(err, &npe) {
				t.Fatalf("error %v, want a NoPairError", err)
			}
			return time.Since(start)
		}
		if d := dial(); d != raWait {
			t.Errorf("first dial waited %v, want %v", d, raWait)
		}
		if d := dial(); d != 0 {
			t.Errorf("second dial waited %v, want none", d)
		}
		time.Sleep(raSolicitFirst)
		if d := dial(); d != raWait {
			t.Errorf("dial after %v waited %v, want %v", raSolicitFirst, d, raWait)
		}
		time.Sleep(raSolicitFirst)
		dial()
		time.Sleep(raSolicitFirst)
		dial()
		var at []time.Duration
		for _, c := range w.solicited() {
			at = append(at, c.at)
		}
		first := 0 * time.Second
		second := raWait + raSolicitFirst
		third := second + raWait + 2*raSolicitFirst                                                       // 60 s after the second
		if want := []time.Duration{first, first, second, second, third, third}; !slices.Equal(at, want) { // links 2 and 3
			t.Errorf("solicited at %v, want %v", at, want)
		}
	})
}

// A host that refuses the raw socket is asked once: no dial waits, and none
// asks again.
func TestNAT64SolicitDenied(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, w := solicitingSelector(t, 0, &os.SyscallError{Syscall: "socket", Err: os.ErrPermission})
		for range 3 {
			start := time.Now()
			if _, err := s.Get(context.Background(), "192.0.2.10", 80); err == nil || time.Since(start) != 0 {
				t.Fatalf("dial: %v after %v; want a failure at once", err, time.Since(start))
			}
			time.Sleep(2 * raSolicitMax)
		}
		if n := len(w.solicited()); n != 1 {
			t.Errorf("%d solicitations, want 1", n)
		}
	})
}

// TestNAT64NoSolicitWhenDNS64Known: "When a dial on a host without native
// IPv4 needs a prefix that neither an RA nor RFC 7050 gave, the Selector asks
// the routers". Once RFC 7050 has given the prefix, later dials must not keep
// soliciting (every 30 s, 60 s, ... 1 h, forever).
func TestNAT64NoSolicitWhenDNS64Known(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lookup := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
			if host == "ipv4only.arpa." && network == "ip6" {
				return []netip.Addr{ip("2001:db8:6464::c000:aa"), ip("2001:db8:6464::c000:ab")}, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		s, w := newSoliciting(t, ipv6Only(routedNAT64Snapshot(false)), 0, nil, withLookup(lookup))
		ctx := context.Background()
		if _, err := s.Get(ctx, "192.0.2.10", 80); err != nil {
			t.Fatal(err)
		}
		first := len(w.solicited())
		for range 3 {
			time.Sleep(2 * time.Minute) // past any backoff step so far, well within the 10-minute DNS64 refresh
			ps, err := s.Get(ctx, "192.0.2.10", 80)
			if err != nil || len(ps) == 0 || !ps[0].Synthesized.IsValid() {
				t.Fatalf("Get: %v, %v", pairText(ps), err)
			}
		}
		if got := w.solicited(); len(got) != first {
			t.Errorf("solicited %+v; the DNS64 prefix was known after the first dial (%d solicitation(s) then)", got, first)
		}
	})
}

// partialSelector returns solicitingSelector's Selector, the router of link
// 2 answering in 30 ms, link 3 failing to send with linkErr.
func partialSelector(t *testing.T, linkErr error) (*Selector, *soliciting) {
	t.Helper()
	s, w := solicitingSelector(t, 30*time.Millisecond, nil)
	w.failLink, w.linkErr = 3, linkErr
	return s, w
}

// TestNAT64SolicitPartialFailureWaits: the solicitation failed on link 3
// (e.g. ENETDOWN) but went out on link 2, whose router answers in 30 ms: an
// answer "may come to a solicitation on one of links", so the dial must wait
// for it as it does when every link succeeded.
func TestNAT64SolicitPartialFailureWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := partialSelector(t, syscall.ENETDOWN)
		ps, err := s.Get(context.Background(), "192.0.2.10", 80)
		if err != nil || len(ps) == 0 {
			t.Fatalf("Get = %v, %v; want the pairs through the prefix link 2's router gave 30 ms after the solicitation", pairText(ps), err)
		}
	})
}

// TestNAT64SolicitPerLinkEPERM: a sendto refused on one link (EPERM: e.g. an
// ip6tables OUTPUT rule on that interface) is not "the host refused (no raw
// socket)": it must not end every later solicitation on every link.
func TestNAT64SolicitPerLinkEPERM(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, w := partialSelector(t, syscall.EPERM)
		w.answerIn = 0 // no router answers
		var npe *NoPairError
		if _, err := s.Get(context.Background(), "192.0.2.10", 80); !errors.As(err, &npe) {
			t.Fatalf("Get: %v", err)
		}
		time.Sleep(2 * raSolicitFirst)
		s.Get(context.Background(), "192.0.2.10", 80)
		if n := len(w.solicited()); n != 4 {
			t.Errorf("%d solicitations, want 4 (links 2 and 3, twice): one link's EPERM marked the whole host denied", n)
		}
	})
}

// Nothing is asked of the routers for a dial that needs no prefix, or that
// has one without them, or by a closed Selector.
func TestNAT64NoSolicitation(t *testing.T) {
	configured := WithPREF64(ConfiguredPREF64{Prefix: labPREF64})
	for _, tc := range []struct {
		name    string
		snap    *netstate.Snapshot
		opts    []Option
		network string // a Stream's for host; "" for Get
		host    string
		closed  bool
	}{
		{name: "native IPv4", snap: routedNAT64Snapshot(false), host: "192.0.2.10"},
		{name: "a configured prefix", snap: ipv6Only(routedNAT64Snapshot(false)), opts: []Option{configured}, host: "192.0.2.10"},
		{name: "closed Selector", snap: ipv6Only(routedNAT64Snapshot(false)), host: "192.0.2.10", closed: true},
		{name: "tcp6 Stream (no A asked)", snap: ipv6Only(routedNAT64Snapshot(false)), network: "tcp6", host: "v6.test"},
		{name: "Stream of an AAAA-only name", snap: ipv6Only(routedNAT64Snapshot(false)), network: "tcp", host: "v6.test"},
		{name: "Get of an AAAA-only name", snap: ipv6Only(routedNAT64Snapshot(false)), host: "v6.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, w := newSoliciting(t, tc.snap, time.Millisecond, nil, tc.opts...)
				if tc.closed {
					s.Close()
				}
				start := time.Now()
				if tc.network == "" {
					s.Get(context.Background(), tc.host, 80)
				} else {
					st, err := s.Stream(context.Background(), Query{Network: tc.network, Host: tc.host, Port: 80})
					if err != nil {
						t.Fatal(err)
					}
					awaitDone(st)
					st.Close()
				}
				if got := w.solicited(); len(got) != 0 || time.Since(start) != 0 {
					t.Errorf("solicited %+v, done after %v; want nothing, at once", got, time.Since(start))
				}
			})
		})
	}
}

// TestNAT64SolicitDespiteConfigForOtherLink: a prefix configured for a link
// the host does not have now (GETAPR_PREF64=...%wlan0 on a laptop plugged into
// an IPv6-only Ethernet) gives no link a prefix, so "neither DNS (RFC 7050)
// nor configuration gave one" (README) and the routers must be asked, as
// without any configuration.
func TestNAT64SolicitDespiteConfigForOtherLink(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, w := newSoliciting(t, ipv6Only(routedNAT64Snapshot(false)), 30*time.Millisecond, nil,
			WithPREF64(ConfiguredPREF64{Interface: "wlan0", Prefix: netip.MustParsePrefix("64:ff9b::/96")}))
		ps, err := s.Get(context.Background(), "192.0.2.10", 80)
		if got := w.solicited(); len(got) == 0 {
			t.Errorf("no Router Solicitation; the only configured prefix is for wlan0, which the host lacks")
		}
		if err != nil || len(ps) == 0 || ps[0].Dst.Addr() != ip("2001:db8:6464::c000:20a") {
			t.Errorf("Get = %v, %v; want the pairs through the prefix the solicited RA brings", pairText(ps), err)
		}
	})
}
