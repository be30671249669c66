package sockopt

import (
	"net"
	"testing"
)

func TestKernelRTTLoopback(t *testing.T) {
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
	d := net.Dialer{Control: BindToDevice("lo", nil)}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Skipf("SO_BINDTODEVICE not permitted here: %v", err)
	}
	defer c.Close()
	rtt, ok := KernelRTT(c)
	if !ok || rtt <= 0 {
		t.Fatalf("KernelRTT = %v, %v; want a positive RTT", rtt, ok)
	}
}

func TestBindToDeviceUnknownInterface(t *testing.T) {
	d := net.Dialer{Control: BindToDevice("no-such-if0", nil)}
	if c, err := d.Dial("tcp", "127.0.0.1:1"); err == nil {
		c.Close()
		t.Fatal("dial bound to a missing interface succeeded")
	}
}
