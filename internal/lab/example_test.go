package lab_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// A package's lab tests start with a TestMain like this one, in a file with the
// build tag "lab". As root it runs the tests inside a fresh lab; otherwise they
// skip.
func ExampleMain() {
	var m *testing.M // the argument of TestMain
	os.Exit(lab.Main(m, lab.Options{}))
}

// A lab test: connect from uplink 1's address, through the delayed uplink, and
// read the address the server sees.
func ExampleCurrent() {
	var t *testing.T // the argument of the test function
	l := lab.Current(t)
	s := l.Server()
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(l.Uplink(1).GUA, 0)), Timeout: time.Second}
	c, err := d.Dial("tcp", netip.AddrPortFrom(s.Open6, s.Port).String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen, err := lab.ReadPeer(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the server sees %v", seen)
}

// Bringing a lab up from ordinary code, as gaprlab does, and breaking uplink 0.
func ExampleUp() {
	l, err := lab.Up(context.Background(), lab.Options{Name: "example"})
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	if err := l.Blackhole(0, true); err != nil {
		log.Fatal(err)
	}
	fmt.Println("client namespace:", l.Client())
}

func ExampleReadPeer() {
	greeting := strings.NewReader("[2001:db8:a:f::100]:40312\n")
	seen, err := lab.ReadPeer(greeting)
	fmt.Println(seen.Addr(), err)
	// Output: 2001:db8:a:f::100 <nil>
}
