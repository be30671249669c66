package isolate_test

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/getapr/getapr/internal/isolate"
)

func TestMain(m *testing.M) {
	isolate.MustSetup()
	os.Exit(m.Run())
}

// TestIsolated runs TestChild in a new namespace with rtnetlink refused.
func TestIsolated(t *testing.T) {
	if isolate.InChild() {
		t.Skip("in the child")
	}
	isolate.Run(t, "^TestChild$", isolate.Options{NewNetNS: true, NoNetlink: true})
}

// TestChild checks, in the child, that rtnetlink is refused as systemd's
// RestrictAddressFamilies refuses it, other sockets work, and the namespace
// has nothing but loopback.
func TestChild(t *testing.T) {
	o := isolate.Current()
	if !o.NewNetNS || !o.NoNetlink {
		t.Skip("only in the child of TestIsolated")
	}
	_, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("socket(AF_NETLINK) = %v, want EAFNOSUPPORT", err)
	}
	if _, err := net.Interfaces(); err == nil {
		t.Error("net.Interfaces works without rtnetlink: the standard library no longer needs it")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := net.Dial("udp", "192.0.2.1:53"); !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("a route out of the namespace: %v, want ENETUNREACH", err)
	}
}
