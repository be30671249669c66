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
