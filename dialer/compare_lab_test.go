//go:build lab

package dialer_test

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/isolate"
	"github.com/getapr/getapr/internal/lab"
	"github.com/getapr/getapr/pairs"
)

// TestLabCompare runs the comparison in the lab's client namespace: two
// uplinks, NAT44, NPTv6, a DNS server, servers that accept, refuse and drop.
// It runs in a child process: the zero-value PairDialer starts the
// process-wide default Selector, whose prober would add its goroutines and
// connects to the other tests' counts.
func TestLabCompare(t *testing.T) {
	lab.Current(t)
	isolate.Run(t, "^TestLabCompareChild$", isolate.Options{})
}

// TestLabCompareNoNetlink runs it there with rtnetlink refused: PairDialer
// reads the host without it (netstate's fallback).
func TestLabCompareNoNetlink(t *testing.T) {
	lab.Current(t)
	isolate.Run(t, "^TestLabCompareChild$", isolate.Options{NoNetlink: true})
}

func TestLabCompareChild(t *testing.T) {
	if !isolate.InChild() {
		t.Skip("only in the child of TestLabCompare or TestLabCompareNoNetlink")
	}
	where := "lab"
	if isolate.Current().NoNetlink {
		where += ", rtnetlink refused"
	}
	runLabCompare(t, lab.Current(t), where)
}

func runLabCompare(t *testing.T, l *lab.Lab, where string) {
	if err := l.Restore(); err != nil {
		t.Fatal(err)
	}
	sel, err := pairs.New(pairs.WithResolver(l.Resolver()))
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	local := listen(t, "tcp", ":0") // a listener in the client namespace
	sels := map[string]*pairs.Selector{"zero value": nil, "explicit": sel}
	report(t, where, compare(labInputs(l, port(local)), l.Resolver(), sels))
}

// labInputs returns the lab's inputs; local is the port of a listener in the
// client namespace.
func labInputs(l *lab.Lab, local string) []dialInput {
	srv, u0, u1 := l.Server(), l.Uplink(0), l.Uplink(1)
	p := strconv.Itoa(int(srv.Port))
	hp := func(ip netip.Addr, port string) string { return net.JoinHostPort(ip.String(), port) }
	tcpFrom := func(ip netip.Addr) net.Addr { return &net.TCPAddr{IP: ip.AsSlice(), Zone: ip.Zone()} }
	const drop = time.Second
	bound := []difference{diffSource}
	path := []difference{diffPath}
	failedRace := []difference{diffSeveral, diffSource, diffPath}
	return []dialInput{
		{name: "name, A and AAAA", network: "tcp", address: net.JoinHostPort(srv.Name, p), allow: []difference{diffPath, diffResolutionDelay}},
		{name: "name, tcp4", network: "tcp4", address: net.JoinHostPort(srv.Name, p), allow: path},
		{name: "name, tcp6", network: "tcp6", address: net.JoinHostPort(srv.Name, p), allow: path},
		{name: "name, A only", network: "tcp", address: net.JoinHostPort(srv.NoAAAAName, p), allow: path},
		{name: "name, slow AAAA", network: "tcp", address: net.JoinHostPort(srv.SlowAAAAName, p),
			allow: []difference{diffPath, diffResolutionDelay}},
		{name: "name, dropping addresses first", network: "tcp", address: net.JoinHostPort(srv.MultiName, p), timeout: 3 * time.Second, allow: path},
		{name: "IPv4 literal", network: "tcp", address: hp(srv.Open4, p), allow: path},
		{name: "IPv6 literal", network: "tcp", address: hp(srv.Open6, p), allow: path},
		{name: "LocalAddr uplink 1 IPv4", network: "tcp", address: hp(srv.Open4, p), local: tcpFrom(u1.IPv4)},
		{name: "LocalAddr uplink 0 IPv4 (NAT44)", network: "tcp", address: hp(srv.Open4, p), local: tcpFrom(u0.IPv4)},
		{name: "LocalAddr uplink 0 GUA", network: "tcp", address: hp(srv.Open6, p), local: tcpFrom(u0.GUA)},
		{name: "LocalAddr uplink 0 ULA (NPTv6)", network: "tcp", address: hp(srv.Open6, p), local: tcpFrom(u0.ULA)},
		{name: "LocalAddr not local", network: "tcp", address: hp(srv.Open4, p), local: tcpFrom(netip.MustParseAddr("192.0.2.99"))},
		{name: "LocalAddr of the other family", network: "tcp", address: hp(srv.Open6, p), local: tcpFrom(u1.IPv4)},
		{name: "local listener, 0.0.0.0", network: "tcp", address: "0.0.0.0:" + local},
		{name: "local listener, [::]", network: "tcp", address: "[::]:" + local},
		{name: "local listener, empty host", network: "tcp", address: ":" + local},
		{name: "local listener, localhost", network: "tcp", address: "localhost:" + local, allow: []difference{diffResolutionDelay}},
		{name: "local listener, own GUA", network: "tcp", address: hp(u0.GUA, local), allow: bound},
		{name: "refused, name", network: "tcp", address: net.JoinHostPort(srv.RefuseName, p), allow: failedRace},
		{name: "refused, IPv4 literal", network: "tcp", address: hp(srv.Refuse4, p), allow: failedRace},
		{name: "refused, IPv6 literal", network: "tcp", address: hp(srv.Refuse6, p), allow: failedRace},
		{name: "dropped, IPv4", network: "tcp", address: hp(srv.Drop4, p), timeout: drop, allow: failedRace},
		{name: "dropped, name", network: "tcp", address: net.JoinHostPort(srv.DropName, p), timeout: drop, allow: failedRace},
		{name: "router, IPv4", network: "tcp", address: hp(u0.Router4, "80"), allow: bound},
		{name: "router, link-local with zone", network: "tcp", address: hp(u0.Router6, "80"),
			allow: []difference{diffSource, diffZoneName}},
		{name: "router, link-local without zone", network: "tcp", address: hp(u0.Router6.WithZone(""), "80"),
			timeout: 2 * time.Second, allow: []difference{diffLinkLocal}},
		{name: "unknown name", network: "tcp", address: "nosuch.invalid:80"},
		{name: "TCP to multicast", network: "tcp", address: "239.1.1.1:80"},
		{name: "context canceled", network: "tcp", address: hp(srv.Open4, p), ctx: ctxCanceled},
		{name: "deadline passed", network: "tcp", address: hp(srv.Open4, p), deadline: time.Now().Add(-time.Second)},
		{name: "UDP, name", network: "udp", address: net.JoinHostPort(srv.Name, "9"), allow: path},
		{name: "UDP, IPv4", network: "udp", address: hp(srv.Open4, "9"), allow: path},
		{name: "UDP, IPv6", network: "udp", address: hp(srv.Open6, "9"), allow: path},
		{name: "UDP, SSDP multicast", network: "udp", address: "239.255.255.250:1900"},
		{name: "UDP, mDNS multicast", network: "udp", address: "224.0.0.251:5353"},
		{name: "UDP, IPv6 mDNS on uplink 0", network: "udp", address: "[ff02::fb%" + u0.Interface + "]:5353",
			allow: []difference{diffZoneName}},
		{name: "UDP, broadcast", network: "udp", address: "255.255.255.255:9"},
		{name: "UDP, LocalAddr uplink 1 IPv4", network: "udp", address: hp(srv.Open4, "9"), local: &net.UDPAddr{IP: u1.IPv4.AsSlice()}},
	}
}
