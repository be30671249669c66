//go:build lab

package dialer_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/internal/lab"
	"github.com/getapr/getapr/pairs"
)

// natOutside is what the server sees of a connection through ISP B's NAT64:
// tayga's pool masqueraded behind ISP B's outside address.
var natOutside = netip.MustParseAddr("203.0.113.129")

// under is v4 in the last 32 bits of the /96 prefix p.
func under(p netip.Prefix, v4 netip.Addr) netip.Addr {
	a := p.Addr().As16()
	b := v4.As4()
	copy(a[12:], b[:])
	return netip.AddrFrom16(a)
}

// waitPREF64 waits until sel's Status shows a NAT64 prefix from source and
// returns how long that took.
func waitPREF64(t *testing.T, sel *pairs.Selector, want netip.Prefix, source string) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 2*time.Second {
		if st := sel.Status(); st.PREF64 == want && st.PREF64Source == source {
			return time.Since(start)
		}
		time.Sleep(time.Millisecond)
	}
	st := sel.Status()
	t.Fatalf("no PREF64 %v from %s within 2s: NAT64 %v, PREF64 %v from %q", want, source, st.NAT64, st.PREF64, st.PREF64Source)
	return 0
}

// medianThroughNAT64 dials address n times with d; every dial must connect
// through the NAT64 (the server sees natOutside). Each dial is followed by a
// net.Dialer dial over the same pair (its source bound, to remote, the
// synthesized address): what the translated path itself gave at that moment,
// the lab's relays and this machine's load included. It returns both medians.
func medianThroughNAT64(t *testing.T, d *dialer.PairDialer, address string, remote netip.AddrPort, n int) (pd, path time.Duration) {
	t.Helper()
	var times, paths []time.Duration
	for i := range n {
		local, seen, el, err := dialPeer(t, d, "tcp", address)
		if err != nil {
			t.Fatalf("dial %d of %s: %v", i, address, err)
		}
		if seen.Addr() != natOutside {
			t.Fatalf("dial %d of %s: the server saw %v; want %v (through the NAT64)", i, address, seen, natOutside)
		}
		times = append(times, el)
		nd := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: local.Addr().AsSlice(), Zone: local.Addr().Zone()}}
		start := time.Now()
		c, err := nd.DialContext(t.Context(), "tcp", remote.String())
		if err != nil {
			t.Fatalf("net.Dialer over the same pair (%v to %v): %v", local.Addr(), remote, err)
		}
		paths = append(paths, time.Since(start))
		c.Close()
	}
	slices.Sort(times)
	slices.Sort(paths)
	return times[n/2], paths[n/2]
}

// An IPv6-only client whose uplink 1 has a NAT64 announced by RA reaches an
// IPv4 literal and an A-only name within 1.1 × the translated path's RTT (or
// of what the path itself gave at that moment, when it was slower), where
// net.Dialer fails; before the prefix is known, PairDialer's error says
// why.
func TestLabNAT64IPv6OnlyRA(t *testing.T) {
	l := lab.Current(t)
	lab.RequireNAT64(t)
	s, n := l.Server(), l.NAT64Facts()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(l.Families(false, true))
	must(l.NAT64(true))
	port := strconv.Itoa(int(s.Port))
	literal := net.JoinHostPort(s.Open4.String(), port)
	aOnly := net.JoinHostPort(s.NoAAAAName, port)

	// net.Dialer has no IPv4 route: it fails at once.
	nd := net.Dialer{Timeout: 2 * time.Second, Resolver: l.Resolver()}
	for _, a := range []string{literal, aOnly} {
		if c, err := nd.Dial("tcp", a); err == nil {
			c.Close()
			t.Fatalf("net.Dialer reached %s on an IPv6-only client", a)
		} else {
			t.Logf("net.Dialer %s: %v", a, err)
		}
	}

	sel := labSelector(t, l, false)
	d := &dialer.PairDialer{Timeout: 2 * time.Second, Resolver: l.Resolver(), Selector: sel}
	_, _, _, err := dialPeer(t, d, "tcp", literal)
	if err == nil || !errors.Is(err, syscall.ENETUNREACH) || !strings.Contains(err.Error(), "no NAT64 prefix (PREF64)") {
		t.Fatalf("before the RA: %v; want ENETUNREACH saying there is no NAT64 prefix", err)
	}

	must(l.AdvertisePREF64(n.Uplink, n.Prefix, 30*time.Minute))
	known := waitPREF64(t, sel, n.Prefix, "ra")
	t.Logf("PREF64 known %v after the RA was sent", known)
	if known > 100*time.Millisecond {
		t.Errorf("PREF64 known %v after the RA; want within 100 ms", known)
	}
	rtt := l.Uplink(n.Uplink).RTT
	remote := netip.AddrPortFrom(under(n.Prefix, s.Open4), s.Port)
	for _, a := range []string{literal, aOnly} {
		m, path := medianThroughNAT64(t, d, a, remote, 9)
		t.Logf("%s through the NAT64: median %v; the path itself %v (translated path RTT %v)", a, m, path, rtt)
		if limit := max(rtt, path) * 11 / 10; m > limit {
			t.Errorf("%s: median %v; want ≤ 1.1 × %v", a, m, max(rtt, path))
		}
	}

	// A Selector that starts after the RA knows no prefix (RA options cannot
	// be read back from the kernel): its first dial that needs one asks the
	// routers (a Router Solicitation), whose answer brings it.
	cold := &dialer.PairDialer{Timeout: 2 * time.Second, Resolver: l.Resolver(), Selector: labSelector(t, l, false)}
	_, seen, el, err := dialPeer(t, cold, "tcp", literal)
	if err != nil || seen.Addr() != natOutside {
		t.Fatalf("a Selector started after the RA: %v (the server saw %v); want a dial through the NAT64", err, seen)
	}
	t.Logf("first dial of a Selector started after the RA: %v (translated path RTT %v)", el, rtt)
	if el > rtt+100*time.Millisecond {
		t.Errorf("first dial of a Selector started after the RA took %v; want within the RTT %v and 100 ms", el, rtt)
	}

	// An idle Selector stops its goroutines (the default one after
	// pairs.DefaultIdleStop) and starts a new Monitor at the next use: that one
	// still knows the prefix, although no RA has come since.
	sel.Suspend()
	if _, seen, _, err := dialPeer(t, d, "tcp", literal); err != nil || seen.Addr() != natOutside {
		t.Fatalf("after Suspend: %v (the server saw %v); want a dial through the NAT64", err, seen)
	}
	if st := sel.Status(); st.PREF64 != n.Prefix || st.PREF64Source != "ra" {
		t.Errorf("after Suspend: PREF64 %v from %q; want %v from ra", st.PREF64, st.PREF64Source, n.Prefix)
	}
}

// With DNS64 and no RA, the prefix comes from ipv4only.arpa (RFC 7050) at the
// first dial that needs it; a DNS64 answer is one server with its A record.
func TestLabNAT64DNS(t *testing.T) {
	l := lab.Current(t)
	lab.RequireNAT64(t)
	s, n := l.Server(), l.NAT64Facts()
	for _, err := range []error{l.Families(false, true), l.NAT64(true), l.DNS64(true)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	sel := labSelector(t, l, false)
	d := &dialer.PairDialer{Timeout: 2 * time.Second, Resolver: l.Resolver(), Selector: sel}
	port := strconv.Itoa(int(s.Port))
	_, seen, el, err := dialPeer(t, d, "tcp", net.JoinHostPort(s.Open4.String(), port))
	if err != nil || seen.Addr() != natOutside {
		t.Fatalf("IPv4 literal with DNS64: %v, server saw %v", err, seen)
	}
	t.Logf("first dial of the literal (RFC 7050 lookup included): %v", el)
	if st := sel.Status(); st.PREF64 != n.Prefix || st.PREF64Source != "dns" {
		t.Errorf("Status: PREF64 %v from %q; want %v from dns", st.PREF64, st.PREF64Source, n.Prefix)
	}
	// The DNS64 answer of an A-only name is de-synthesized: one destination,
	// the IPv4 address, which only the NAT64 reaches. LookupNetIP gives its
	// best pair's address (the synthesized one, once), then the IPv4 address.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := sel.LookupNetIP(ctx, "ip", s.NoAAAAName)
	if want := []netip.Addr{under(n.Prefix, s.Open4), s.Open4}; err != nil || !slices.Equal(addrs, want) {
		t.Errorf("LookupNetIP %s = %v, %v; want %v", s.NoAAAAName, addrs, err, want)
	}
	// A name with a real AAAA and a DNS64 one: the real IPv6 address first,
	// the translated one counted as its IPv4 server.
	ps, err := sel.Get(ctx, s.NAT64MixedName, int(s.Port))
	if err != nil || len(ps) == 0 || ps[0].Dst.Addr() != s.Open6 || ps[0].Synthesized.IsValid() {
		t.Fatalf("Get %s = %v, %v; want the real IPv6 first", s.NAT64MixedName, ps, err)
	}
	dsts := map[netip.Addr]bool{}
	for _, p := range ps {
		dsts[p.Dst.Addr()] = true
		if p.Synthesized.IsValid() && (p.Synthesized != s.Open4 || p.Dst.Addr() != under(n.Prefix, s.Open4)) {
			t.Errorf("synthesized pair %v for %v", p.Dst, p.Synthesized)
		}
	}
	t.Logf("pairs of %s: %v", s.NAT64MixedName, ps)
}

// A dual-stack client whose uplink 1 is IPv6-only behind a NAT64: an IPv4
// destination goes native through uplink 0 (NAT44) while that works, and
// through the NAT64 when uplink 0 is blackholed.
func TestLabNAT64DualStack(t *testing.T) {
	l := lab.Current(t)
	lab.RequireNAT64(t)
	s, n := l.Server(), l.NAT64Facts()
	if err := l.NAT64(true); err != nil {
		t.Fatal(err)
	}
	sel := labSelector(t, l, false)
	if err := l.AdvertisePREF64(n.Uplink, n.Prefix, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	waitPREF64(t, sel, n.Prefix, "ra")
	d := &dialer.PairDialer{Timeout: 3 * time.Second, Resolver: l.Resolver(), Selector: sel}
	literal := net.JoinHostPort(s.Open4.String(), strconv.Itoa(int(s.Port)))
	_, seen, el, err := dialPeer(t, d, "tcp", literal)
	if err != nil || seen.Addr() != l.Uplink(0).IPv4Outside {
		t.Fatalf("native: %v, server saw %v; want uplink 0's NAT44 %v", err, seen, l.Uplink(0).IPv4Outside)
	}
	t.Logf("native through uplink 0 in %v", el)
	if err := l.Blackhole(0, true); err != nil {
		t.Fatal(err)
	}
	_, seen, el, err = dialPeer(t, d, "tcp", literal)
	if err != nil || seen.Addr() != natOutside {
		t.Fatalf("uplink 0 blackholed: %v, server saw %v; want the NAT64's %v", err, seen, natOutside)
	}
	t.Logf("translated through uplink 1 in %v (after uplink 0's attempt)", el)

	// Both paths work, the native one slower (500 ms): the race picks the
	// translated one, and the next dial, knowing its RTT, starts there.
	for _, err := range []error{l.Blackhole(0, false), l.SetRTT(0, 500*time.Millisecond)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	sel = labSelector(t, l, false)
	if err := l.AdvertisePREF64(n.Uplink, n.Prefix, 30*time.Minute); err != nil { // the router's next RA
		t.Fatal(err)
	}
	waitPREF64(t, sel, n.Prefix, "ra")
	d.Selector = sel
	for i, bound := range []time.Duration{450 * time.Millisecond, 3 * l.Uplink(n.Uplink).RTT / 2} {
		_, seen, el, err = dialPeer(t, d, "tcp", literal)
		if err != nil || seen.Addr() != natOutside {
			t.Fatalf("dial %d with uplink 0 at 500 ms: %v, server saw %v; want the NAT64's %v", i, err, seen, natOutside)
		}
		t.Logf("dial %d: the translated path won in %v", i, el)
		if el > bound {
			t.Errorf("dial %d took %v; want under %v", i, el, bound)
		}
	}
}
