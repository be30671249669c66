package dialer_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
)

// TestSameAPIAsNetDialer checks that every exported field and method of
// net.Dialer exists on PairDialer with the same type: swapping one type for
// the other compiles.
func TestSameAPIAsNetDialer(t *testing.T) {
	nd, pd := reflect.TypeFor[net.Dialer](), reflect.TypeFor[dialer.PairDialer]()
	for f := range nd.Fields() {
		if !f.IsExported() {
			continue
		}
		g, ok := pd.FieldByName(f.Name)
		if !ok || g.Type != f.Type {
			t.Errorf("field %s %v: PairDialer has %v", f.Name, f.Type, g.Type)
		}
	}
	ndp, pdp := reflect.PointerTo(nd), reflect.PointerTo(pd)
	for m := range ndp.Methods() {
		g, ok := pdp.MethodByName(m.Name)
		if !ok {
			t.Errorf("method %s missing", m.Name)
			continue
		}
		// Compare the signatures without the receiver.
		if !sameSignature(m.Type, g.Type) {
			t.Errorf("method %s: net.Dialer's is %v, PairDialer's %v", m.Name, m.Type, g.Type)
		}
	}
}

func sameSignature(a, b reflect.Type) bool {
	if a.NumIn() != b.NumIn() || a.NumOut() != b.NumOut() || a.IsVariadic() != b.IsVariadic() {
		return false
	}
	for i := 1; i < a.NumIn(); i++ {
		if a.In(i) != b.In(i) {
			return false
		}
	}
	for i := range a.NumOut() {
		if a.Out(i) != b.Out(i) {
			return false
		}
	}
	return true
}

// TestDialTCPUDPLikeNet checks DialTCP and DialUDP: the concrete connection
// types, LocalAddr-like laddr, and net.Dialer's error for a bad network.
func TestDialTCPUDPLikeNet(t *testing.T) {
	ln := listen(t, "tcp4", "127.0.0.1:0")
	raddr := ln.Addr().(*net.TCPAddr).AddrPort()
	d := &dialer.PairDialer{Selector: newSelector(t)}
	c, err := d.DialTCP(t.Context(), "tcp", netip.AddrPort{}, raddr)
	if err != nil {
		t.Fatal(err)
	}
	ping(t, c)
	c.Close()
	c, err = d.DialTCP(t.Context(), "tcp4", netip.MustParseAddrPort("127.0.0.2:0"), raddr)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); got != netip.MustParseAddr("127.0.0.2") {
		t.Errorf("laddr 127.0.0.2: bound %v", got)
	}
	c.Close()
	var nd net.Dialer
	for _, network := range []string{"udp", "tcp7"} {
		_, err := d.DialTCP(t.Context(), network, netip.AddrPort{}, raddr)
		_, want := nd.DialTCP(t.Context(), network, netip.AddrPort{}, raddr)
		if err == nil || err.Error() != want.Error() || reflect.TypeOf(errors.Unwrap(err)) != reflect.TypeOf(errors.Unwrap(want)) {
			t.Errorf("DialTCP(%q): %v, net.Dialer's %v", network, err, want)
		}
	}

	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	uc, err := d.DialUDP(t.Context(), "udp", netip.AddrPort{}, pc.LocalAddr().(*net.UDPAddr).AddrPort())
	if err != nil {
		t.Fatal(err)
	}
	uc.Close()
	_, err = d.DialUDP(t.Context(), "tcp", netip.AddrPort{}, raddr)
	_, want := nd.DialUDP(t.Context(), "tcp", netip.AddrPort{}, raddr)
	if err == nil || err.Error() != want.Error() {
		t.Errorf("DialUDP(tcp): %v, net.Dialer's %v", err, want)
	}
}

// TestDialTCPUDPIgnoreLocalAddr checks that DialTCP and DialUDP, like
// net.Dialer's, bind laddr and not the LocalAddr field, also where the pair is
// a fallback (192.0.2.1 is no address of the host: binding it fails, which
// sends nothing), and with a field of the other network's type.
func TestDialTCPUDPIgnoreLocalAddr(t *testing.T) {
	ln := listen(t, "tcp4", "127.0.0.1:0")
	raddr := ln.Addr().(*net.TCPAddr).AddrPort()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	uaddr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	sel := newSelector(t)
	laddr, foreign := netip.MustParseAddrPort("127.0.0.2:0"), netip.MustParseAddrPort("192.0.2.1:0")
	const notHere = "bind: cannot assign requested address"
	field := net.IPv4(127, 0, 0, 3)
	local := func(c net.Conn, err error) string {
		if oe, ok := err.(*net.OpError); ok {
			return oe.Err.Error()
		}
		if err != nil {
			return err.Error()
		}
		defer c.Close()
		return c.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Addr().String()
	}
	for _, tc := range []struct {
		name  string
		field net.Addr
		dial  func(d *dialer.PairDialer, laddr netip.AddrPort) (net.Conn, error)
		want  map[netip.AddrPort]string // by laddr
	}{
		{"DialTCP", &net.TCPAddr{IP: field}, func(d *dialer.PairDialer, l netip.AddrPort) (net.Conn, error) {
			return d.DialTCP(t.Context(), "tcp4", l, raddr)
		}, map[netip.AddrPort]string{laddr: "127.0.0.2", {}: "127.0.0.1", foreign: notHere}},
		{"DialUDP", &net.UDPAddr{IP: field}, func(d *dialer.PairDialer, l netip.AddrPort) (net.Conn, error) {
			return d.DialUDP(t.Context(), "udp4", l, uaddr)
		}, map[netip.AddrPort]string{laddr: "127.0.0.2", {}: "127.0.0.1", foreign: notHere}},
		{"DialUDP, a TCP field", &net.TCPAddr{IP: field}, func(d *dialer.PairDialer, l netip.AddrPort) (net.Conn, error) {
			return d.DialUDP(t.Context(), "udp4", l, uaddr)
		}, map[netip.AddrPort]string{laddr: "127.0.0.2", {}: "127.0.0.1", foreign: notHere}},
	} {
		d := &dialer.PairDialer{Selector: sel, LocalAddr: tc.field}
		for l, want := range tc.want {
			if got := local(tc.dial(d, l)); got != want {
				t.Errorf("%s, laddr %v, LocalAddr %v: %s, want %s", tc.name, l, tc.field, got, want)
			}
		}
	}
}

// TestDefaultResolverAtEachDial checks that a Selector without WithResolver
// resolves with net.DefaultResolver as it is at each dial, as net.Dialer does:
// a program that replaces it after its first dial is heard. Both resolvers
// are fake servers on loopback.
func TestDefaultResolverAtEachDial(t *testing.T) {
	ln := listen(t, "tcp4", "127.0.0.1:0")
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	before, err := newFakeDNS(nil) // knows no name
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	after, err := newFakeDNS(map[string][]netip.Addr{"late.test": {netip.MustParseAddr("127.0.0.1")}})
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	saved := net.DefaultResolver
	defer func() { net.DefaultResolver = saved }()

	net.DefaultResolver = before.Resolver()
	sel, err := pairs.New(pairs.WithWatcher(netstate.NewStatic(loopbackSnapshot())), pairs.WithoutProbing())
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	d := &dialer.PairDialer{Selector: sel}
	if c, err := d.Dial("tcp", "late.test:"+port); err == nil {
		c.Close()
		t.Fatal("late.test resolved before its resolver was set")
	}
	net.DefaultResolver = after.Resolver()
	c, err := d.Dial("tcp", "late.test:"+port)
	if err != nil {
		t.Fatalf("after net.DefaultResolver was replaced: %v", err)
	}
	c.Close()
}

// TestDialUnix checks that DialUnix is net.Dialer's.
func TestDialUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	listen(t, "unix", path)
	d := &dialer.PairDialer{Selector: newSelector(t)}
	c, err := d.DialUnix(t.Context(), "unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// TestCancel checks the deprecated Cancel channel: closing it ends a dial
// that waits (here for a DNS server that cannot be reached until the lookup
// is canceled), as with net.Dialer, and leaves no goroutine behind (goleak).
func TestCancel(t *testing.T) {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	for _, dial := range []struct {
		name string
		fn   func(cancel chan struct{}) error
	}{
		{"PairDialer", func(cancel chan struct{}) error {
			d := &dialer.PairDialer{Selector: newSelector(t), Resolver: r, Cancel: cancel}
			_, err := d.Dial("tcp", "silent.test:80")
			return err
		}},
		{"net.Dialer", func(cancel chan struct{}) error {
			d := &net.Dialer{Resolver: r, Cancel: cancel} //lint:ignore SA1019 the deprecated field is what is compared
			_, err := d.Dial("tcp", "silent.test:80")
			return err
		}},
	} {
		cancel := make(chan struct{})
		stop := time.AfterFunc(50*time.Millisecond, func() { close(cancel) })
		start := time.Now()
		err := dial.fn(cancel)
		stop.Stop()
		if err == nil || !errors.Is(err, context.Canceled) || time.Since(start) > 4*time.Second {
			t.Errorf("%s: %v after %v; want a cancellation soon after 50ms", dial.name, err, time.Since(start))
		}
	}
}

// TestMultipathTCP checks SetMultipathTCP and MultipathTCP against
// net.Dialer's, and that the attempts use what was asked: the connection
// reports MPTCP exactly when net.Dialer's does on this kernel.
func TestMultipathTCP(t *testing.T) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(true)
	ln, err := lc.Listen(t.Context(), "tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	echoServer(t, ln)
	sel := newSelector(t)
	for _, use := range []bool{true, false} {
		d, nd := &dialer.PairDialer{Selector: sel}, &net.Dialer{}
		if d.MultipathTCP() != nd.MultipathTCP() {
			t.Errorf("default: MultipathTCP() = %v, net.Dialer's %v", d.MultipathTCP(), nd.MultipathTCP())
		}
		d.SetMultipathTCP(use)
		nd.SetMultipathTCP(use)
		if d.MultipathTCP() != use {
			t.Errorf("SetMultipathTCP(%v): MultipathTCP() = %v", use, d.MultipathTCP())
		}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nd.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := c.(*net.TCPConn).MultipathTCP()
		want, _ := nc.(*net.TCPConn).MultipathTCP()
		if got != want {
			t.Errorf("SetMultipathTCP(%v): the connection uses MPTCP: %v, net.Dialer's: %v", use, got, want)
		}
		t.Logf("SetMultipathTCP(%v): connection MPTCP %v", use, got)
		c.Close()
		nc.Close()
	}
}
