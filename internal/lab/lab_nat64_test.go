//go:build lab

package lab_test

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/lab"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// under is v4 in the last 32 bits of the /96 prefix p.
func under(p netip.Prefix, v4 netip.Addr) netip.Addr {
	a := p.Addr().As16()
	b := v4.As4()
	copy(a[12:], b[:])
	return netip.AddrFrom16(a)
}

func TestNAT64(t *testing.T) {
	l := lab.Current(t)
	lab.RequireNAT64(t)
	s := l.Server()
	a, b := l.Uplink(0), l.Uplink(1)
	n := l.NAT64Facts()
	synth := under(n.Prefix, s.Open4)
	start := time.Now()
	must(t, l.NAT64(true))
	t.Logf("NAT64(true) took %v (tayga start and the warm-up connect)", time.Since(start))
	// Through ISP B's NAT64, the server sees B's outside IPv4 address (the
	// masquerade of tayga's pool).
	if got := peer(t, b.GUA, synth, s.Port); got.Addr() != netip.MustParseAddr("203.0.113.129") {
		t.Errorf("through the NAT64 the server sees %v; want 203.0.113.129", got)
	}
	kernel, wall := handshakeMedian(t, b.GUA, netip.AddrPortFrom(synth, s.Port), 9)
	t.Logf("handshake through the NAT64 (uplink RTT %v): median %v (kernel), %v (wall)", b.RTT, kernel, wall)
	if d := kernel - b.RTT; d < -time.Millisecond || d > 3*time.Millisecond {
		t.Errorf("median handshake through the NAT64 %v; want the uplink's %v within 3 ms", kernel, b.RTT)
	}
	// Uplink 1 is IPv6-only now; uplink 0 keeps its IPv4 and has no NAT64.
	if c, _, err := dial(b.IPv4, netip.AddrPortFrom(s.Open4, s.Port), time.Second); err == nil {
		c.Close()
		t.Errorf("%v is still a usable source", b.IPv4)
	}
	mustConnect(t, a.IPv4, s.Open4, s.Port)
	if c, _, err := dial(a.GUA, netip.AddrPortFrom(synth, s.Port), hangTimeout); err == nil {
		c.Close()
		t.Errorf("%v reached the NAT64 prefix through uplink 0", a.GUA)
	}
	// Families(true, true) does not give uplink 1 its IPv4 back while NAT64 is on.
	must(t, l.Families(false, true))
	must(t, l.Families(true, true))
	if c, _, err := dial(b.IPv4, netip.AddrPortFrom(s.Open4, s.Port), time.Second); err == nil {
		c.Close()
		t.Errorf("%v came back with Families while NAT64 is on", b.IPv4)
	}
	mustConnect(t, b.GUA, synth, s.Port)
	// Off: uplink 1 has IPv4 again and the translation is gone.
	must(t, l.NAT64(false))
	mustConnect(t, b.IPv4, s.Open4, s.Port)
	mustHang(t, b.GUA, netip.AddrPortFrom(synth, s.Port))
}

func TestDNS64(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	p := l.NAT64Facts().Prefix
	r := l.Resolver()
	lookup := func(name string) []netip.Addr {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		got, err := r.LookupNetIP(ctx, "ip6", name)
		if dnsErr, ok := err.(*net.DNSError); ok && dnsErr.IsNotFound {
			return nil
		}
		if err != nil {
			t.Fatalf("AAAA %s: %v", name, err)
		}
		return got
	}
	wka := []netip.Addr{under(p, netip.MustParseAddr("192.0.0.170")), under(p, netip.MustParseAddr("192.0.0.171"))}
	mixed := []netip.Addr{under(p, s.Open4), s.Open6}
	for _, tc := range []struct {
		dns64 bool
		name  string
		want  []netip.Addr
	}{
		{false, s.NoAAAAName, nil},
		{false, "ipv4only.arpa", nil},
		{false, s.NAT64MixedName, mixed},
		{true, s.NoAAAAName, []netip.Addr{under(p, s.Open4)}},
		{true, "ipv4only.arpa", wka},
		{true, s.Name, []netip.Addr{s.Open6}},
		{true, s.NAT64MixedName, mixed},
	} {
		must(t, l.DNS64(tc.dns64))
		// The resolver sorts the answers (RFC 6724), so compare them sorted.
		got := lookup(tc.name)
		slices.SortFunc(got, netip.Addr.Compare)
		tc.want = slices.SortedFunc(slices.Values(tc.want), netip.Addr.Compare)
		if !slices.Equal(got, tc.want) {
			t.Errorf("DNS64 %v: AAAA %s = %v; want %v", tc.dns64, tc.name, got, tc.want)
		}
	}
	must(t, l.DNS64(true))
	must(t, l.Restore())
	if got := lookup(s.NoAAAAName); got != nil {
		t.Errorf("after Restore: AAAA %s = %v; want none", s.NoAAAAName, got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if got, err := r.LookupNetIP(ctx, "ip4", "ipv4only.arpa"); err != nil || len(got) != 2 {
		t.Errorf("A ipv4only.arpa = %v, %v; want 192.0.0.170 and .171", got, err)
	}
}

// An RA from ISP B reaches the client's user space as an RTM_NEWNDUSEROPT
// message with the PREF64 option. The relays pass Neighbor Discovery without
// delay, so it comes at once.
func TestAdvertisePREF64(t *testing.T) {
	l := lab.Current(t)
	b := l.Uplink(1)
	c, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	must(t, c.JoinGroup(unix.RTNLGRP_ND_USEROPT))
	ifi, err := net.InterfaceByName(b.Interface)
	if err != nil {
		t.Fatal(err)
	}
	routes := func() string {
		out, err := exec.Command("ip", "-6", "route", "show", "table", "all").CombinedOutput()
		if err != nil {
			t.Fatalf("ip -6 route: %v: %s", err, out)
		}
		return string(out)
	}
	before := routes()
	defer func() {
		// Router Lifetime 0 and no other option: the client's routes are untouched.
		if after := routes(); after != before {
			t.Errorf("the RAs changed the client's routes:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	}()
	for _, tc := range []struct {
		prefix   netip.Prefix
		lifetime time.Duration
		scaled   uint16 // what the option must carry
		plc      uint16
	}{
		{l.NAT64Facts().Prefix, 30 * time.Minute, 225, 0},
		{netip.MustParsePrefix("2001:db8:64::/64"), 20 * time.Second, 3, 1}, // rounded up to 24 s
		{l.NAT64Facts().Prefix, 0, 0, 0},
	} {
		start := time.Now()
		must(t, l.AdvertisePREF64(1, tc.prefix, tc.lifetime))
		must(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
		msgs, err := c.Receive()
		if err != nil {
			t.Fatalf("%v: no RTM_NEWNDUSEROPT: %v", tc.prefix, err)
		}
		took := time.Since(start)
		m := msgs[0]
		if m.Header.Type != unix.RTM_NEWNDUSEROPT || len(m.Data) < 16+16 {
			t.Fatalf("got message type %d, %d bytes", m.Header.Type, len(m.Data))
		}
		d := m.Data
		index := int(binary.NativeEndian.Uint32(d[4:8]))
		opt := d[16:32]
		v := binary.BigEndian.Uint16(opt[2:4])
		want := tc.prefix.Addr().As16()
		if index != ifi.Index || d[8] != 134 || opt[0] != 38 || opt[1] != 2 ||
			v>>3 != tc.scaled || v&7 != tc.plc || [12]byte(opt[4:16]) != [12]byte(want[:12]) {
			t.Errorf("%v %v: message %x; want ifindex %d, type 134, PREF64 scaled %d PLC %d", tc.prefix, tc.lifetime, d, ifi.Index, tc.scaled, tc.plc)
		}
		t.Logf("PREF64 %v %v arrived %v after AdvertisePREF64 was called (uplink RTT %v)", tc.prefix, tc.lifetime, took, b.RTT)
		if took > 100*time.Millisecond {
			t.Errorf("the RA took %v to reach user space", took)
		}
	}
}
