//go:build lab

package lab_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// defaultRoutes returns the client's usable default routes of a family (4 or
// 6) in every table; the unreachable defaults of the policy tables are not.
func defaultRoutes(t *testing.T, family int) []string {
	t.Helper()
	out, err := exec.Command("ip", "-j", fmt.Sprintf("-%d", family), "route", "show", "table", "all", "default").Output()
	if err != nil {
		t.Fatalf("ip route: %v", err)
	}
	var routes []struct {
		Type    string `json:"type"`
		Gateway string `json:"gateway"`
		Dev     string `json:"dev"`
		Table   string `json:"table"`
	}
	if err := json.Unmarshal(out, &routes); err != nil {
		t.Fatalf("ip route: %v: %s", err, out)
	}
	var res []string
	for _, r := range routes {
		if r.Type != "unreachable" {
			res = append(res, r.Gateway+"%"+r.Dev+"@"+r.Table)
		}
	}
	return res
}

func TestFamilies(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	a, b := l.Uplink(0), l.Uplink(1)
	if n := len(defaultRoutes(t, 4)); n != 4 {
		t.Fatalf("%d IPv4 default routes at start; want 4 (main and policy table per uplink)", n)
	}

	t.Run("ipv6-only", func(t *testing.T) {
		must(t, l.Families(false, true))
		if r := defaultRoutes(t, 4); len(r) != 0 {
			t.Errorf("IPv6-only client has IPv4 default routes %v", r)
		}
		mustFail(t, netip.Addr{}, netip.AddrPortFrom(s.Open4, s.Port), time.Second, syscall.ENETUNREACH)
		mustFail(t, a.IPv4, netip.AddrPortFrom(s.Open4, s.Port), time.Second, syscall.EADDRNOTAVAIL)
		mustConnect(t, a.GUA, s.Open6, s.Port)
		mustConnect(t, b.GUA, s.Open6, s.Port)
	})
	t.Run("ipv4-only", func(t *testing.T) {
		must(t, l.Families(true, false))
		if r := defaultRoutes(t, 6); len(r) != 0 {
			t.Errorf("IPv4-only client has IPv6 default routes %v", r)
		}
		mustFail(t, netip.Addr{}, netip.AddrPortFrom(s.Open6, s.Port), time.Second, syscall.ENETUNREACH)
		mustConnect(t, a.IPv4, s.Open4, s.Port)
		mustConnect(t, b.IPv4, s.Open4, s.Port)
		// Link-local stays: the router still answers.
		mustFail(t, netip.Addr{}, netip.AddrPortFrom(a.Router6, 80), time.Second, syscall.ECONNREFUSED)
	})
	t.Run("both", func(t *testing.T) {
		must(t, l.Families(true, true))
		if n := len(defaultRoutes(t, 4)) + len(defaultRoutes(t, 6)); n != 8 {
			t.Errorf("%d default routes after restoring both families; want 8", n)
		}
		for _, src := range []netip.Addr{a.GUA, a.ULA, b.GUA} {
			mustConnect(t, src, s.Open6, s.Port)
		}
		mustConnect(t, a.IPv4, s.Open4, s.Port)
		mustConnect(t, b.IPv4, s.Open4, s.Port)
	})
}

func TestClientAddrs(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	for _, tc := range []struct {
		uplink int
		p      netip.Prefix
		dst    netip.Addr
		seen   netip.Addr // what the server sees; invalid: p's address
	}{
		{0, netip.MustParsePrefix("2001:db8:a:1::200/64"), s.Open6, netip.Addr{}},
		{1, netip.MustParsePrefix("2001:db8:b:1::200/64"), s.Open6, netip.Addr{}},
		{0, netip.MustParsePrefix("fd00:a::200/64"), s.Open6, netip.MustParseAddr("2001:db8:a:f::200")},
		{0, netip.MustParsePrefix("10.1.0.200/24"), s.Open4, l.Uplink(0).IPv4Outside},
	} {
		t.Run(tc.p.String(), func(t *testing.T) {
			want := tc.seen
			if !want.IsValid() {
				want = tc.p.Addr()
			}
			must(t, l.AddClientAddr(tc.uplink, tc.p))
			if got := peer(t, tc.p.Addr(), tc.dst, s.Port); got.Addr() != want {
				t.Errorf("server sees %v; want %v", got, want)
			}
			must(t, l.RemoveClientAddr(tc.uplink, tc.p))
			mustFail(t, tc.p.Addr(), netip.AddrPortFrom(tc.dst, s.Port), time.Second, syscall.EADDRNOTAVAIL)
			if err := l.RemoveClientAddr(tc.uplink, tc.p); err == nil {
				t.Errorf("removing %v twice succeeded", tc.p)
			}
		})
	}
	t.Run("restore-removes", func(t *testing.T) {
		p := netip.MustParsePrefix("2001:db8:a:1::300/64")
		must(t, l.AddClientAddr(0, p))
		must(t, l.Restore())
		mustFail(t, p.Addr(), netip.AddrPortFrom(s.Open6, s.Port), time.Second, syscall.EADDRNOTAVAIL)
	})
}

func TestDNS(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	r := l.Resolver()
	ctx := context.Background()
	lookup := func(t *testing.T, r *net.Resolver, network, host string) ([]netip.Addr, time.Duration, error) {
		t.Helper()
		start := time.Now()
		addrs, err := r.LookupNetIP(ctx, network, host)
		for i, a := range addrs {
			addrs[i] = a.Unmap()
		}
		slices.SortFunc(addrs, netip.Addr.Compare)
		return addrs, time.Since(start), err
	}
	sorted := func(a ...netip.Addr) []netip.Addr { return slices.SortedFunc(slices.Values(a), netip.Addr.Compare) }
	for _, tc := range []struct {
		network, host string
		want          []netip.Addr
	}{
		{"ip", s.Name, sorted(s.Open6, s.Open4)},
		{"ip", s.MultiName, sorted(s.Drop6, s.Open6, s.Drop4, s.Open4)},
		{"ip", s.NoAAAAName, sorted(s.Open4)},
		{"ip4", s.SlowAAAAName, sorted(s.Open4)},
		{"ip", s.RefuseName, sorted(s.Refuse6, s.Refuse4)},
		{"ip", s.DropName, sorted(s.Drop6, s.Drop4)},
	} {
		t.Run(tc.network+"-"+tc.host, func(t *testing.T) {
			got, el, err := lookup(t, r, tc.network, tc.host)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("LookupNetIP(%s, %s) = %v, %v; want %v", tc.network, tc.host, got, err, tc.want)
			}
			if el > 100*time.Millisecond {
				t.Errorf("LookupNetIP(%s, %s) took %v", tc.network, tc.host, el)
			}
		})
	}
	t.Run("no-aaaa", func(t *testing.T) {
		_, _, err := lookup(t, r, "ip6", s.NoAAAAName)
		if dnsErr, ok := errors.AsType[*net.DNSError](err); !ok || !dnsErr.IsNotFound {
			t.Errorf("AAAA of %s: %v; want not found", s.NoAAAAName, err)
		}
	})
	t.Run("slow-aaaa", func(t *testing.T) {
		got, el, err := lookup(t, r, "ip6", s.SlowAAAAName)
		if err != nil || !slices.Equal(got, []netip.Addr{s.Open6}) || el < s.SlowAAAADelay || el > s.SlowAAAADelay+100*time.Millisecond {
			t.Errorf("AAAA of %s = %v, %v after %v; want %v after %v", s.SlowAAAAName, got, err, el, s.Open6, s.SlowAAAADelay)
		}
	})
	t.Run("unknown", func(t *testing.T) {
		_, _, err := lookup(t, r, "ip", "nowhere.getapr.test")
		if dnsErr, ok := errors.AsType[*net.DNSError](err); !ok || !dnsErr.IsNotFound {
			t.Errorf("unknown name: %v; want not found", err)
		}
	})
	t.Run("system-resolver", func(t *testing.T) {
		// resolv.conf of the client namespace points at the lab DNS.
		got, _, err := lookup(t, &net.Resolver{PreferGo: true}, "ip", s.Name)
		if err != nil || !slices.Equal(got, sorted(s.Open6, s.Open4)) {
			t.Errorf("default resolver: %v, %v", got, err)
		}
	})
}

func TestListenHTTP(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	src := l.Uplink(1).GUA
	ln, err := l.Listen("tcp", netip.AddrPortFrom(s.Open6, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.RemoteAddr)
	})}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	}()
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}).DialContext}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 3 * time.Second}).Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := netip.ParseAddrPort(string(body)); err != nil || got.Addr() != src {
		t.Errorf("server saw %q; want %v", body, src)
	}
}
