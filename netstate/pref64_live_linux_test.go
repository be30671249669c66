package netstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// inNetNS runs fn on a thread switched into the network namespace named ns
// (sockets fn opens stay there). The thread is never reused if it cannot
// switch back.
func inNetNS(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			errc <- err
			return
		}
		defer self.Close()
		target, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		err = fn()
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// sendPREF64RA sends, from the peer's fe80::1 on v0p, a Router Advertisement
// (router lifetime 0) carrying a PREF64 option built by hand after RFC 8781.
func (l *lab) sendPREF64RA(p netip.Prefix, plc uint16, lifetime time.Duration) {
	l.tb.Helper()
	opt := make([]byte, 16)
	opt[0], opt[1] = 38, 2
	binary.BigEndian.PutUint16(opt[2:], uint16(lifetime/(8*time.Second))<<3|plc)
	copy(opt[4:], p.Addr().AsSlice()[:12])
	m := icmp.Message{Type: ipv6.ICMPTypeRouterAdvertisement, Body: &icmp.RawBody{Data: append(make([]byte, 12), opt...)}}
	b, err := m.Marshal(nil)
	if err != nil {
		l.tb.Fatal(err)
	}
	err = inNetNS(l.peer, func() error {
		c, err := icmp.ListenPacket("ip6:ipv6-icmp", "fe80::1%v0p")
		if err != nil {
			return err
		}
		defer c.Close()
		ifi, err := net.InterfaceByName("v0p")
		if err != nil {
			return err
		}
		pc := c.IPv6PacketConn()
		if err := errors.Join(pc.SetMulticastHopLimit(255), pc.SetMulticastInterface(ifi)); err != nil {
			return err
		}
		_, err = c.WriteTo(b, &net.IPAddr{IP: net.ParseIP("ff02::1"), Zone: "v0p"})
		return err
	})
	if err != nil {
		l.tb.Fatalf("sending an RA: %v", err)
	}
}

// raLab is a lab whose host takes Router Advertisements on v0 from the peer's
// fe80::1.
func raLab(t *testing.T) *lab {
	l := newLab(t)
	l.exec(l.host, "sysctl", "-qw", "net.ipv6.conf.v0.accept_ra=2")
	l.in(l.peer, "addr", "add", "fe80::1/64", "dev", "v0p", "nodad")
	l.in(l.host, "addr", "add", "fe80::10/64", "dev", "v0", "nodad")
	l.in(l.host, "addr", "add", "2001:db8:a::10/64", "dev", "v0", "nodad")
	return l
}

// The kernel of this machine hands a PREF64 option to user space in the form
// parseNDUserOpt reads, and raOptions turns it into the link's PREF64.
func TestPREF64FromKernel(t *testing.T) {
	l := raLab(t)
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: l.fd})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.JoinGroup(unix.RTNLGRP_ND_USEROPT); err != nil {
		t.Fatal(err)
	}
	var r raOptions
	defer r.close()
	s := &Snapshot{Links: []Link{{Index: 100, Name: "v0", Up: true}}}
	for _, tc := range []struct {
		prefix   netip.Prefix
		plc      uint16
		lifetime time.Duration
	}{
		{netip.MustParsePrefix("2001:db8:6464::/96"), 0, 30 * time.Minute},
		{netip.MustParsePrefix("2001:db8:122::/48"), 3, 8 * time.Second},
		{netip.MustParsePrefix("2001:db8:122::/48"), 3, 0},
	} {
		l.sendPREF64RA(tc.prefix, tc.plc, tc.lifetime)
		if err := c.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Receive()
		if err != nil || len(msgs) != 1 || msgs[0].Header.Type != unix.RTM_NEWNDUSEROPT {
			t.Fatalf("%v: got %d messages, %v", tc.prefix, len(msgs), err)
		}
		now := time.Now()
		if !r.handle(msgs[0].Data, now, func() {}) {
			t.Fatalf("%v: message %x not taken", tc.prefix, msgs[0].Data)
		}
		got := r.current(s, now)
		if tc.lifetime == 0 {
			// The /48 is withdrawn: the /96 is the link's again.
			tc.prefix, tc.lifetime = netip.MustParsePrefix("2001:db8:6464::/96"), 30*time.Minute
		}
		if len(got) != 1 || got[0].Prefix != tc.prefix || got[0].Index != 100 ||
			got[0].Router != netip.MustParseAddr("fe80::1%v0") || got[0].Source != PREF64RA {
			t.Fatalf("after %v: %+v", tc.prefix, got)
		}
	}
}

// A Monitor publishes an RA's PREF64 as the link's, soon after it arrives;
// a refresh is no change; a withdrawal removes it.
func TestMonitorPREF64(t *testing.T) {
	l := raLab(t)
	m, ch := watch(t, l)
	last := m.Snapshot().Generation
	p96 := netip.MustParsePrefix("2001:db8:6464::/96")
	has := func(p netip.Prefix) func(*Snapshot) bool {
		return func(s *Snapshot) bool {
			got, ok := s.PREF64For(100)
			return ok && got.Prefix == p && got.Source == PREF64RA && got.Router == netip.MustParseAddr("fe80::1%v0")
		}
	}
	if !hasAddr("2001:db8:a::10", func(Addr) bool { return true })(m.Snapshot()) {
		t.Fatal("the lab's address is not in the first snapshot")
	}
	start := time.Now()
	l.sendPREF64RA(p96, 0, 30*time.Minute)
	s := await(t, ch, &last, liveWait, "the RA's PREF64", has(p96))
	took := time.Since(start)
	t.Logf("PREF64 published %v after the RA was sent (generation %d)", took, s.Generation)
	if took > 100*time.Millisecond {
		t.Errorf("PREF64 published %v after the RA; want within 100 ms", took)
	}
	if got, _ := m.Snapshot().PREF64For(100); got.Expires.Sub(start) < 29*time.Minute {
		t.Errorf("expires %v", got.Expires)
	}
	// The same prefix again only refreshes the lifetime, here to an hour: no
	// new snapshot, but PREF64s says when it expires now.
	refreshed := time.Now()
	l.sendPREF64RA(p96, 0, time.Hour)
	select {
	case s := <-ch:
		t.Errorf("a refresh published generation %d", s.Generation)
	case <-time.After(300 * time.Millisecond):
	}
	live := m.PREF64s()
	if len(live) != 1 || live[0].Expires.Sub(refreshed) < 59*time.Minute || live[0].Prefix != p96 {
		t.Errorf("PREF64s after a refresh to an hour = %+v", live)
	}
	// A Monitor started now learns of the prefix only from the next RA, unless
	// it replaces this one and takes what it knew (WithPREF64s).
	for _, carry := range []bool{false, true} {
		opts := []Option{WithNetNS(l.fd)}
		if carry {
			opts = append(opts, WithPREF64s(m.PREF64s()))
		}
		m2, err := New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := m2.Snapshot().PREF64For(100)
		m2.Close()
		if want := live[0]; carry && (!ok || got != want) {
			t.Errorf("a Monitor given the PREF64s has %+v, %v; want %+v", got, ok, want)
		} else if !carry && ok {
			t.Errorf("a new Monitor has a PREF64 before any RA: %+v", got)
		}
	}
	l.sendPREF64RA(p96, 0, 0)
	await(t, ch, &last, liveWait, "no PREF64 after the withdrawal", func(s *Snapshot) bool { return len(s.PREF64s) == 0 })
}

// TestSolicitRouters: a Monitor made for the lab's host namespace sends its
// Router Solicitation there, on the link asked for, as RFC 4861 wants it (to
// ff02::2, hop limit 255); the router's answer brings the PREF64 into the
// next snapshot.
func TestSolicitRouters(t *testing.T) {
	l := raLab(t)
	// A router: it has joined ff02::2 and takes what is sent there.
	l.exec(l.peer, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
	m, ch := watch(t, l)
	last := m.Snapshot().Generation
	// The peer listens for solicitations on its end of the link.
	var pc *ipv6.PacketConn
	err := inNetNS(l.peer, func() error {
		c, err := icmp.ListenPacket("ip6:ipv6-icmp", "::")
		if err != nil {
			return err
		}
		pc = c.IPv6PacketConn()
		var f ipv6.ICMPFilter
		f.SetAll(true)
		f.Accept(ipv6.ICMPTypeRouterSolicitation)
		return errors.Join(pc.SetICMPFilter(&f), pc.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ifi, err := interfaceIn(l.peer, "v0p")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SolicitRouters(100); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1500)
	if err := pc.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, cm, src, err := pc.ReadFrom(b)
	if err != nil {
		t.Fatalf("no Router Solicitation heard: %v", err)
	}
	if b[0] != 133 || b[1] != 0 || n != 8 || cm.HopLimit != 255 || !cm.Dst.Equal(net.ParseIP("ff02::2")) || cm.IfIndex != ifi.Index {
		t.Errorf("heard % x from %v (hop limit %d, to %v, on %d); want a Router Solicitation to ff02::2, hop limit 255, on %d",
			b[:n], src, cm.HopLimit, cm.Dst, cm.IfIndex, ifi.Index)
	}
	if s := src.(*net.IPAddr); !s.IP.IsLinkLocalUnicast() {
		t.Errorf("solicitation from %v, want the host's link-local address", s)
	}
	p96 := netip.MustParsePrefix("2001:db8:6464::/96")
	l.sendPREF64RA(p96, 0, 30*time.Minute)
	await(t, ch, &last, liveWait, "the answer's PREF64", func(s *Snapshot) bool {
		got, ok := s.PREF64For(100)
		return ok && got.Prefix == p96
	})
	m.Close()
	if err := m.SolicitRouters(100); !errors.Is(err, net.ErrClosed) {
		t.Errorf("after Close: %v, want net.ErrClosed", err)
	}
}

// interfaceIn looks an interface up by name inside namespace ns.
func interfaceIn(ns, name string) (*net.Interface, error) {
	var ifi *net.Interface
	err := inNetNS(ns, func() error {
		var err error
		ifi, err = net.InterfaceByName(name)
		return err
	})
	return ifi, err
}
