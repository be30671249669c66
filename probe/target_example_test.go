package probe_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/getapr/getapr/probe"
)

// Probe targets from a configuration: global addresses are accepted, private ones
// only when marked, and some never.
func ExampleParseProbeTarget() {
	for _, s := range []string{"192.0.2.1:80", "10.0.0.1:80", "private:10.0.0.1:80", "[::1]:80", "169.254.169.254:80"} {
		ap, err := probe.ParseProbeTarget(s)
		fmt.Println(ap, err)
	}
	// Output:
	// 192.0.2.1:80 <nil>
	// invalid AddrPort probe target 10.0.0.1: a private address (rfc1918); write private:HOST:PORT to probe it anyway
	// 10.0.0.1:80 <nil>
	// invalid AddrPort probe target ::1: a loopback address, never probed
	// invalid AddrPort probe target 169.254.169.254: a link-local address, never probed (the default gateways are probed anyway)
}

// An address found elsewhere (a name's addresses, an API's answer) is checked
// before it is probed.
func ExampleCheckProbeTarget() {
	fmt.Println(probe.CheckProbeTarget(netip.MustParseAddr("2001:db8::1"), false))
	fmt.Println(probe.CheckProbeTarget(netip.MustParseAddr("fd00:ec2::254"), true))
	// Output:
	// <nil>
	// probe target fd00:ec2::254: a cloud metadata address, never probed
}

// A path for the shared file is checked before sharing is turned on: here a
// directory that does not exist yet (Share will create it) and a special file.
func ExampleCheckSharePath() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	fmt.Println(probe.CheckSharePath(filepath.Join(dir, "getapr", "pairs.json")))
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		panic(err)
	}
	fmt.Println(probe.CheckSharePath(sub) != nil) // a directory, not a regular file
	// Output:
	// <nil>
	// true
}
