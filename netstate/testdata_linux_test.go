package netstate

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

var update = flag.Bool("update", false, "rewrite ../testdata/netstate from a lab namespace (needs root)")

// multihomedFile holds the raw link, address, rule and route dumps of the lab
// host that (*lab).multihomed builds, as the kernel sent them.
var multihomedFile = filepath.Join("..", "testdata", "netstate", "multihomed.nl")

// TestUpdateTestdata captures the dumps with -update.
func TestUpdateTestdata(t *testing.T) {
	if !*update {
		t.Skip("run with -update to rewrite the testdata")
	}
	l := newLab(t)
	l.multihomed()
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: l.fd})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs, _, err := dumpAll(c, new(refusedDumps))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(multihomedFile, joinMessages(msgs), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readMultihomed(tb testing.TB) []netlink.Message {
	tb.Helper()
	b, err := os.ReadFile(multihomedFile)
	if err != nil {
		tb.Fatal(err)
	}
	msgs, err := splitMessages(b)
	if err != nil {
		tb.Fatal(err)
	}
	return msgs
}

func TestSplitJoinMessages(t *testing.T) {
	b, err := os.ReadFile(multihomedFile)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := splitMessages(b)
	if err != nil || len(msgs) < 40 {
		t.Fatalf("split: %d messages, %v", len(msgs), err)
	}
	if got := joinMessages(msgs); !slices.Equal(got, b) {
		t.Fatalf("join(split(b)) differs from b")
	}
	for _, n := range []int{1, 15, 17, len(b) - 1} {
		if _, err := splitMessages(b[:n]); err == nil {
			t.Errorf("split of %d of %d bytes: no error", n, len(b))
		}
	}
}

// TestParseMultihomed checks the Snapshot built from the recorded dumps.
func TestParseMultihomed(t *testing.T) {
	taken := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := parseDump(readMultihomed(t), taken)
	if err != nil {
		t.Fatalf("parseDump: %v", err)
	}
	if s.Taken != taken || s.Generation != 0 {
		t.Errorf("Taken, Generation = %v, %d", s.Taken, s.Generation)
	}
	wantLinks := []Link{
		{Index: 1, Name: "lo", Up: true, Running: true, Loopback: true, MTU: 65536},
		{Index: 100, Name: "v0", Up: true, Running: true, MTU: 1500},
		{Index: 101, Name: "v1", Up: true, Running: true, MTU: 1500},
		{Index: 102, Name: "v2", MTU: 1500},
	}
	if !slices.Equal(s.Links, wantLinks) {
		t.Errorf("Links:\n got %+v\nwant %+v", s.Links, wantLinks)
	}
	t.Run("addrs", func(t *testing.T) { checkMultihomedAddrs(t, s) })
	t.Run("routes", func(t *testing.T) { checkMultihomedRoutes(t, s) })
	t.Run("rules", func(t *testing.T) { checkMultihomedRules(t, s) })
	if want := netip.MustParseAddr("192.0.2.1"); s.Gateway4 != want {
		t.Errorf("Gateway4 = %v, want %v", s.Gateway4, want)
	}
	if want := netip.MustParseAddr("fe80::1%v0"); s.Gateway6 != want {
		t.Errorf("Gateway6 = %v, want %v", s.Gateway6, want)
	}
}

func checkMultihomedAddrs(t *testing.T, s *Snapshot) {
	type want struct {
		bits, index int
		flags       AddrFlags
		pref, valid time.Duration
	}
	f := Forever
	wants := map[string]want{
		"192.0.2.10":     {24, 100, 0, f, f},
		"2001:db8:a::10": {64, 100, 0, f, f},
		"2001:db8:a::20": {64, 100, Deprecated, 0, f},
		"2001:db8:a::30": {64, 100, 0, time.Hour, 2 * time.Hour},
		"fe80::10%v0":    {64, 100, 0, f, f},
		"198.51.100.10":  {24, 101, 0, f, f},
		"2001:db8:b::10": {64, 101, 0, f, f},
		"2001:db8:b::77": {64, 101, Tentative, f, f},
		"2001:db8:b::99": {64, 101, Tentative | DADFailed, f, f},
		"fe80::11%v1":    {64, 101, 0, f, f},
		"10.9.9.9":       {24, 102, 0, f, f},
	}
	temporary := 0
	for _, a := range s.Addrs {
		if a.Has(Temporary) {
			// The kernel's privacy address: random interface ID in 2001:db8:a::/64.
			temporary++
			if a.Prefix() != netip.MustParsePrefix("2001:db8:a::/64") || a.Index != 100 ||
				a.ValidLifetime > 2*time.Hour || a.PreferredLifetime > time.Hour || a.ValidLifetime < time.Hour {
				t.Errorf("temporary address %+v", a)
			}
			continue
		}
		w, ok := wants[a.IP.String()]
		if !ok {
			t.Errorf("unexpected address %+v", a)
			continue
		}
		delete(wants, a.IP.String())
		lifetimesOK := (w.pref == a.PreferredLifetime || (w.pref != f && a.PreferredLifetime <= w.pref && a.PreferredLifetime > w.pref-time.Minute)) &&
			(w.valid == a.ValidLifetime || (w.valid != f && a.ValidLifetime <= w.valid && a.ValidLifetime > w.valid-time.Minute))
		if a.Bits != w.bits || a.Index != w.index || a.Flags != w.flags || !lifetimesOK {
			t.Errorf("%v: got %+v, want %+v", a.IP, a, w)
		}
		if name := map[int]string{100: "v0", 101: "v1", 102: "v2"}[a.Index]; a.Interface != name {
			t.Errorf("%v: Interface %q, want %q", a.IP, a.Interface, name)
		}
	}
	if temporary != 1 {
		t.Errorf("%d temporary addresses, want 1", temporary)
	}
	for ip := range wants {
		t.Errorf("missing address %v", ip)
	}
	var usable []string
	for _, a := range s.Sources() {
		usable = append(usable, a.IP.String())
	}
	// Sources: no tentative, DAD-failed or loopback addresses, nothing on the
	// down link v2; the deprecated and temporary ones are in.
	if len(usable) != 9 || slices.Contains(usable, "2001:db8:b::77") || slices.Contains(usable, "10.9.9.9") ||
		!slices.Contains(usable, "2001:db8:a::20") || slices.Contains(usable, "127.0.0.1") {
		t.Errorf("Sources() = %v", usable)
	}
}

func checkMultihomedRoutes(t *testing.T, s *Snapshot) {
	ip, pfx := netip.MustParseAddr, netip.MustParsePrefix
	want := []Route{
		{Dst: pfx("0.0.0.0/0"), Gateway: ip("198.51.100.1"), Index: 101, Table: 101},
		{Dst: pfx("0.0.0.0/0"), Table: 101, Priority: 4278198272, Type: Unreachable},
		{Dst: pfx("::/0"), Gateway: ip("fe80::2%v1"), Index: 101, Table: 101, Priority: 1024},
		{Dst: pfx("::/0"), Index: 1, Table: 101, Priority: 4278198272, Type: Unreachable},
		{Dst: pfx("0.0.0.0/0"), Gateway: ip("192.0.2.1"), Index: 100, Table: 254, Priority: 100},
		{Dst: pfx("0.0.0.0/0"), Gateway: ip("198.51.100.1"), Index: 101, Table: 254, Priority: 200},
		{Dst: pfx("192.0.2.0/24"), Index: 100, Src: ip("192.0.2.10"), Table: 254},
		{Dst: pfx("198.18.0.0/15"), Gateway: ip("192.0.2.1"), Index: 100, Table: 254},
		{Dst: pfx("198.18.0.0/15"), Gateway: ip("198.51.100.1"), Index: 101, Table: 254},
		{Dst: pfx("198.51.100.0/24"), Index: 101, Src: ip("198.51.100.10"), Table: 254},
		{Dst: pfx("203.0.113.0/25"), Table: 254, Type: Unreachable},
		{Dst: pfx("203.0.113.128/26"), Table: 254, Type: Prohibit},
		{Dst: pfx("203.0.113.192/26"), Table: 254, Type: Blackhole},
		{Dst: pfx("::/0"), Gateway: ip("fe80::1%v0"), Index: 100, Table: 254, Priority: 1024},
		{Dst: pfx("2001:db8:a::/64"), Index: 100, Table: 254, Priority: 256},
		{Dst: pfx("2001:db8:b::/64"), Index: 101, Table: 254, Priority: 256},
		{Dst: pfx("2001:db8:bbbb::/48"), Index: 1, Table: 254, Priority: 1024, Type: Blackhole},
		{Dst: pfx("2001:db8:beef::/48"), Index: 1, Table: 254, Priority: 1024, Type: Prohibit},
		{Dst: pfx("2001:db8:dead::/48"), Index: 1, Table: 254, Priority: 1024, Type: Unreachable},
		{Dst: pfx("fe80::/64"), Index: 100, Table: 254, Priority: 256},
		{Dst: pfx("fe80::/64"), Index: 101, Table: 254, Priority: 256},
	}
	if !slices.Equal(s.Routes, want) {
		t.Errorf("Routes:")
		for i := range max(len(s.Routes), len(want)) {
			var g, w Route
			if i < len(s.Routes) {
				g = s.Routes[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("[%d]\n got %+v\nwant %+v", i, g, w)
			}
		}
	}
}

func checkMultihomedRules(t *testing.T, s *Snapshot) {
	pfx := netip.MustParsePrefix
	want := []Rule{
		{Priority: 0, Table: 255},
		{Priority: 100, Table: 254, Suppress: true},
		{Priority: 200, Src: pfx("198.51.100.0/24"), Table: 101},
		{Priority: 310, Dst: pfx("10.66.0.0/16"), Action: RuleProhibit},
		{Priority: 32766, Table: 254},
		{Priority: 32767, Table: 253},
		{Is6: true, Priority: 0, Table: 255},
		{Is6: true, Priority: 100, Table: 254, Suppress: true},
		{Is6: true, Priority: 200, Src: pfx("2001:db8:b::/64"), Table: 101},
		{Is6: true, Priority: 32766, Table: 254},
	}
	if !slices.Equal(s.Rules, want) {
		t.Errorf("Rules:\n got %+v\nwant %+v", s.Rules, want)
	}
}

// TestParseSkipsBadMessages checks that an undecodable message is reported and
// the rest still parsed.
func TestParseSkipsBadMessages(t *testing.T) {
	msgs := readMultihomed(t)
	bad := netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWADDR}, Data: []byte{1, 2}}
	s, err := parseDump(append([]netlink.Message{bad}, msgs...), time.Time{})
	if err == nil {
		t.Error("no error for a truncated address message")
	}
	if len(s.Addrs) != 12 || len(s.Links) != 4 {
		t.Errorf("got %d addrs, %d links; want 12, 4", len(s.Addrs), len(s.Links))
	}
}

// FuzzParseDump feeds arbitrary message streams to the parser: it must not
// panic, and what it builds must hold together.
func FuzzParseDump(f *testing.F) {
	msgs := readMultihomed(f)
	f.Add(joinMessages(msgs))
	for _, m := range msgs {
		f.Add(joinMessages([]netlink.Message{m}))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := splitMessages(b)
		s, _ := parseDump(msgs, time.Time{})
		if s == nil {
			t.Fatal("nil snapshot")
		}
		for _, a := range s.Addrs {
			if !a.IP.IsValid() || a.Bits < 0 || a.Bits > a.IP.BitLen() || a.IP.Is4In6() {
				t.Errorf("bad address %+v", a)
			}
			if a.IP.Is6() && a.IP.IsLinkLocalUnicast() && a.IP.Zone() == "" {
				t.Errorf("link-local address without zone %+v", a)
			}
		}
		for _, r := range s.Routes {
			if !r.Dst.IsValid() || r.Type == Local || r.Type == OtherRoute {
				t.Errorf("bad route %+v", r)
			}
		}
		if !slices.IsSortedFunc(s.Routes, compareRoutes) {
			t.Error("routes not sorted")
		}
		_, _ = s.Lookup(netip.Addr{}, netip.MustParseAddr("192.0.2.1"))
		_ = sameHost(s, s)
	})
}
