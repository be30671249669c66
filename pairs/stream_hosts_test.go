package pairs

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestStreamHostsNameOneLookup: a name of the hosts file is looked up once
// for both families ("ip"), as net.Dialer looks it up: the system answers for
// it without DNS, so there is no Resolution Delay to keep between the
// families, and one lookup costs half of two.
func TestStreamHostsNameOneLookup(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte(dst6+" db.test\n"+dst4+" db.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		// No "ip4" or "ip6" answer: those lookups would find nothing.
		dns := scripted{"db.test. ip": {after: time.Millisecond, addrs: []netip.Addr{ip(dst6), ip(dst4)}}}
		sel := dns.selector(t)
		sel.stub.hostsPath = hosts
		st, err := sel.Stream(t.Context(), Query{Host: "db.test", Port: 443})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		awaitDone(st)
		want := []string{pair(gua, "["+dst6+"]:443"), pair(v4, dst4+":443"), pair(ula, "["+dst6+"]:443")}
		if got := take(st); !slices.Equal(got, want) {
			t.Errorf("pairs %q, want %q", got, want)
		}
	})
}

// TestHostsNameLookedUpHere: a name of the hosts file is looked up once for
// both families ("ip") by every way in (Stream, Attempts, Get), on the
// caller's goroutine, with no goroutine per family nor a Stream's machinery:
// the one answer has both families.
func TestHostsNameLookedUpHere(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte(dst6+" db.test\n"+dst4+" db.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, way := range []struct {
		name string
		fn   string // the function on the lookup's stack when it runs on the caller's goroutine
		dial func(context.Context, *Selector) ([]Pair, error)
	}{
		{"Stream", "(*Selector).Stream", func(ctx context.Context, s *Selector) ([]Pair, error) {
			st, err := s.Stream(ctx, Query{Host: "db.test", Port: 443})
			if err != nil {
				return nil, err
			}
			defer st.Close()
			awaitDone(st)
			var ps []Pair
			for p, ok := st.Next(); ok; p, ok = st.Next() {
				ps = append(ps, p)
			}
			return ps, nil
		}},
		{"Attempts", "(*Selector).Attempts", func(ctx context.Context, s *Selector) ([]Pair, error) {
			return s.Attempts(ctx, Query{Host: "db.test", Port: 443})
		}},
		{"Get", "(*Selector).Get", func(ctx context.Context, s *Selector) ([]Pair, error) {
			return s.Get(ctx, "db.test", 443)
		}},
	} {
		t.Run(way.name, func(t *testing.T) {
			var lookups []string
			here := true
			lookup := func(ctx context.Context, network, host string) ([]netip.Addr, error) {
				lookups = append(lookups, network)
				here = here && onStack(way.fn)
				return fakeDNS{"db.test": {ip(dst6), ip(dst4)}}.lookup(ctx, network, host)
			}
			sel, _ := newTestSelector(t, homeSnapshot(), nil, withLookup(lookup))
			sel.stub.hostsPath = hosts
			ps, err := way.dial(t.Context(), sel)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) != 3 {
				t.Errorf("%d pairs, want 3: %v", len(ps), ps)
			}
			if !slices.Equal(lookups, []string{"ip"}) || !here {
				t.Errorf("lookups %q, on the caller's goroutine: %v; want one of \"ip\" there", lookups, here)
			}
		})
	}
}

// onStack reports whether the function named fn (its name after the package
// path) is on the calling goroutine's stack.
func onStack(fn string) bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "."+fn) {
			return true
		}
		if !more {
			return false
		}
	}
}
