package sockopt

import (
	"net"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func bindControl(ifname string, noPort bool) func(string, string, syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error { return Bind(c, ifname, noPort) }
}

func TestBindAndKernelRTTLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
	}()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Control: bindControl("lo", true)}
	c, err := d.Dial("tcp", ln.Addr().String())
	if Refused(err) {
		t.Skipf("SO_BINDTODEVICE not permitted here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, _ := c.(*net.TCPConn).SyscallConn()
	var dev string
	var noPort int
	raw.Control(func(fd uintptr) {
		dev, _ = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
		noPort, _ = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT)
	})
	if dev != "lo" || noPort != 1 {
		t.Errorf("socket bound to device %q with IP_BIND_ADDRESS_NO_PORT %d; want lo and 1", dev, noPort)
	}
	rtt, ok := KernelRTT(c)
	if !ok || rtt <= 0 {
		t.Fatalf("KernelRTT = %v, %v; want a positive RTT", rtt, ok)
	}
}

func TestBindUnknownInterface(t *testing.T) {
	d := net.Dialer{Control: bindControl("no-such-if0", false)}
	c, err := d.Dial("tcp", "127.0.0.1:1")
	if err == nil {
		c.Close()
		t.Fatal("dial bound to a missing interface succeeded")
	}
	if Refused(err) {
		t.Errorf("Refused(%v) = true for a missing interface; want false (a path failure)", err)
	}
}

func TestRefused(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&DeviceError{Interface: "eth0", Err: syscall.EPERM}, true},
		{&DeviceError{Interface: "eth0", Err: syscall.EACCES}, true},
		{&DeviceError{Interface: "eth0", Err: syscall.ENODEV}, false},
		{syscall.EPERM, false}, // not from SO_BINDTODEVICE
		{nil, false},
	} {
		if got := Refused(tt.err); got != tt.want {
			t.Errorf("Refused(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
