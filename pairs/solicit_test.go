package pairs

import (
	"context"
	"errors"
	"os"
	"slices"
	"sync"
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
	w := &soliciting{Static: netstate.NewStatic(ipv6Only(routedNAT64Snapshot(false))), answerIn: answerIn, err: err, start: time.Now()}
	names := fakeDNS{"aonly.test": {ip("192.0.2.10")}, "v6.test": {ip("2001:db8:5::10")}}
	s, serr := New(WithWatcher(w), WithoutProbing(), withLookup(names.lookup))
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
		if got := w.solicited(); len(got) != 1 || !slices.Equal(got[0].links, []int{2, 3}) {
			t.Errorf("solicited %+v; want once, on links 2 and 3", got)
		}
		// Known now (eth1's): no more solicitation for it, no wait.
		start = time.Now()
		if _, err := s.Get(ctx, "192.0.2.11", 80); err != nil || time.Since(start) != 0 {
			t.Fatalf("second literal: %v after %v", err, time.Since(start))
		}
		if got := w.solicited(); len(got) != 1 {
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
		if n := len(w.solicited()); n != 1 {
			t.Errorf("%d solicitations, want 1", n)
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
		third := second + raWait + 2*raSolicitFirst // 60 s after the second
		if want := []time.Duration{first, second, third}; !slices.Equal(at, want) {
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

// A host with native IPv4 asks nothing: synthesized pairs would come after
// the native ones.
func TestNAT64NoSolicitWithNativeIPv4(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &soliciting{Static: netstate.NewStatic(routedNAT64Snapshot(false)), answerIn: time.Millisecond, start: time.Now()}
		s, err := New(WithWatcher(w), WithoutProbing(), withLookup(fakeDNS{}.lookup))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { s.Close(); w.Close() }()
		if _, err := s.Get(context.Background(), "192.0.2.10", 80); err != nil {
			t.Fatal(err)
		}
		if got := w.solicited(); len(got) != 0 {
			t.Errorf("solicited %+v with native IPv4", got)
		}
	})
}
