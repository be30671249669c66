package sockopt

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// listenLoopback returns the address of a listener on 127.0.0.1 that closes
// what it accepts, until the test ends.
func listenLoopback(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// socketOptions returns the device c's socket is bound to and its
// IP_BIND_ADDRESS_NO_PORT.
func socketOptions(t *testing.T, c net.Conn) (dev string, noPort int) {
	t.Helper()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	raw.Control(func(fd uintptr) {
		dev, _ = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
		noPort, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT)
	})
	return dev, noPort
}

// TestDialOptions checks which options Dial sets: the port left to connect
// for a TCP source bound with port 0 only, the device when asked, and the
// caller's control function before them.
func TestDialOptions(t *testing.T) {
	dst := listenLoopback(t)
	lo := net.IPv4(127, 0, 0, 1)
	tests := []struct {
		name       string
		local      net.Addr
		ifname     string
		wantDev    string
		wantNoPort int
	}{
		{"unbound", nil, "", "", 0},
		{"source, port 0", &net.TCPAddr{IP: lo}, "", "", 1},
		{"source and port", &net.TCPAddr{IP: lo, Port: int(dst.Port()) + 1}, "", "", 0},
		{"source and device", &net.TCPAddr{IP: lo}, "lo", "lo", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			controls := 0
			p := Path{Dialer: net.Dialer{LocalAddr: tt.local, Control: func(string, string, syscall.RawConn) error {
				controls++
				return nil
			}}, Network: "tcp", Dst: dst, Interface: tt.ifname}
			var dev Device
			c, first, err := Dial(t.Context(), &p, &dev)
			if Refused(err) {
				t.Skipf("SO_BINDTODEVICE not permitted here: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if first || dev.Refusal() != nil {
				t.Errorf("refusal %v (first %v) without one", dev.Refusal(), first)
			}
			if controls != 1 {
				t.Errorf("the dialer's Control ran %d times, want 1", controls)
			}
			if d, np := socketOptions(t, c); d != tt.wantDev || np != tt.wantNoPort {
				t.Errorf("device %q, IP_BIND_ADDRESS_NO_PORT %d; want %q, %d", d, np, tt.wantDev, tt.wantNoPort)
			}
		})
	}
}

// TestDialRefusal checks what Dial does when the system refuses
// SO_BINDTODEVICE, a refusal played by the dialer's Control: without Strict it
// connects again without the device and remembers, so that the next connect
// sharing the Device does not ask; with Strict the connect fails.
func TestDialRefusal(t *testing.T) {
	dst := listenLoopback(t)
	refuse := func(string, string, syscall.RawConn) error {
		return &DeviceError{Interface: "lo", Err: syscall.EPERM}
	}
	asked := 0
	p := Path{Network: "tcp", Dst: dst, Interface: "lo"}
	p.Dialer.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		asked++
		if asked == 1 {
			return refuse(network, address, c)
		}
		return nil
	}
	var dev Device
	for i, wantFirst := range []bool{true, false} {
		before := asked
		c, first, err := Dial(t.Context(), &p, &dev)
		if err != nil {
			t.Fatalf("connect %d: %v", i, err)
		}
		if d, _ := socketOptions(t, c); d != "" {
			t.Errorf("connect %d: bound to %q after a refusal", i, d)
		}
		c.Close()
		if first != wantFirst || dev.Refusal() == nil {
			t.Errorf("connect %d: first %v, refusal %v; want first %v and a refusal", i, first, dev.Refusal(), wantFirst)
		}
		if want := 2 - i; asked-before != want {
			t.Errorf("connect %d ran the control %d times, want %d", i, asked-before, want)
		}
	}

	p.Strict = true
	p.Dialer.ControlContext = nil
	p.Dialer.Control = refuse
	var strict Device
	c, first, err := Dial(t.Context(), &p, &strict)
	if err == nil {
		c.Close()
	}
	if de, ok := errors.AsType[*DeviceError](err); !ok || first || strict.Refusal() != nil {
		t.Errorf("strict: %v (DeviceError %v), first %v, refusal %v; want the DeviceError, nothing remembered", err, de, first, strict.Refusal())
	}
}

// TestDialAddress checks that Dial connects to Path.Address as given when
// there is one (the caller's text of Dst, not made again).
func TestDialAddress(t *testing.T) {
	dst := listenLoopback(t)
	p := Path{Network: "tcp", Dst: netip.AddrPortFrom(dst.Addr(), 1), Address: dst.String()}
	c, _, err := Dial(t.Context(), &p, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
