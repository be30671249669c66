package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// The scenario: a host with two uplinks. eth0 (ISP A) has a GUA, a ULA translated
// by NPTv6 and an RFC 1918 address behind NAT44; eth1 (ISP B) a GUA and a public
// IPv4 address.
var (
	srcA6   = netip.MustParseAddr("2001:db8:a::10")
	srcULA  = netip.MustParseAddr("fd00:a::10")
	srcA4   = netip.MustParseAddr("10.0.0.2")
	srcB6   = netip.MustParseAddr("2001:db8:b::10")
	srcB4   = netip.MustParseAddr("198.51.100.10")
	srcLL   = netip.MustParseAddr("fe80::10%eth0")
	server6 = netip.MustParseAddr("2001:db8:ff::1")
	server4 = netip.MustParseAddr("203.0.113.1")
	router6 = netip.MustParseAddr("fe80::1%eth0")
)

// epoch is where testing/synctest's clock starts.
var epoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func mkPair(src netip.Addr, iface string, dst netip.Addr, lat time.Duration, basis pairs.Basis, h probe.Health, reason string) pairs.Pair {
	return pairs.Pair{
		Src: netip.AddrPortFrom(src, 0), Dst: netip.AddrPortFrom(dst, 443), Interface: iface,
		SrcClass: netstate.Classify(src), DstClass: netstate.Classify(dst),
		Latency: lat, Basis: basis, Health: h, Reason: reason,
	}
}

func serverPairs() []pairs.Pair {
	p := []pairs.Pair{
		mkPair(srcA6, "eth0", server6, 21300*time.Microsecond, pairs.Measured, probe.Alive, "measured 21.3ms"),
		mkPair(srcA4, "eth0", server4, 25*time.Millisecond, pairs.Inherited, probe.Alive, "inherited 203.0.112.0/20 25ms"),
		mkPair(srcULA, "eth0", server6, 201*time.Millisecond, pairs.Assumed, probe.Unknown, "middlebox: TLS failed after TCP; default ula via nptv6 201ms"),
		mkPair(srcB6, "eth1", server6, 200*time.Millisecond, pairs.Assumed, probe.Dead, "source dead"),
		mkPair(srcB4, "eth1", server4, 205*time.Millisecond, pairs.Assumed, probe.Unknown, "default ipv4 205ms; deprecated"),
	}
	p[1].RTTVar = 2500 * time.Microsecond
	p[4].Deprecated, p[4].EgressMismatch = true, true
	p[2].Middlebox = true
	return p
}

func scenarioStatus() probe.Status {
	src := func(a netip.Addr, iface string, h probe.Health, fails int) probe.SourceStatus {
		return probe.SourceStatus{Addr: a, Interface: iface, Class: netstate.Classify(a).String(),
			Health: h, Since: epoch.Add(-time.Minute), Failures: fails}
	}
	dead := src(srcB6, "eth1", probe.Dead, 3)
	dead.NextCheck = epoch.Add(30 * time.Second)
	return probe.Status{
		GUAOK: true, IPv4OK: true, ULAPresent: true, RFC1918: true,
		NPTv6: true, NPTv6Tried: true, NAT44Tried: true,
		Gateway4: netip.MustParseAddr("10.0.0.1"), Gateway6: router6,
		Sources: []probe.SourceStatus{
			src(srcLL, "eth0", probe.Alive, 0), src(srcA6, "eth0", probe.Alive, 0),
			src(srcULA, "eth0", probe.Unknown, 0), src(srcA4, "eth0", probe.Alive, 0),
			dead, src(srcB4, "eth1", probe.Unknown, 0),
		},
		Middleboxes: []probe.MiddleboxStatus{{Src: srcULA, Dst: server6, Since: epoch.Add(-30 * time.Second)}},
		Changed:     epoch.Add(-time.Minute),
	}
}

// connectErr is an attempt's error as the dialer would give it.
func connectErr(src, dst netip.AddrPort, errno syscall.Errno) error {
	return &net.OpError{Op: "dial", Net: "tcp", Source: net.TCPAddrFromAddrPort(src),
		Addr: net.TCPAddrFromAddrPort(dst), Err: os.NewSyscallError("connect", errno)}
}

// timeoutErr is an attempt that ran into the dial's deadline.
func timeoutErr(src, dst netip.AddrPort) error {
	return &net.OpError{Op: "dial", Net: "tcp", Source: net.TCPAddrFromAddrPort(src),
		Addr: net.TCPAddrFromAddrPort(dst), Err: context.DeadlineExceeded}
}

// attemptsErr mimics the dialer's error listing every attempt.
type attemptsErr []error

func (e attemptsErr) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "all %d attempts failed:", len(e))
	for _, err := range e {
		b.WriteString("\n\t" + err.Error())
	}
	return b.String()
}

func (e attemptsErr) Unwrap() []error { return e }

func scenarioDials() map[string]fakeDial {
	ps := serverPairs()
	gua, nat := ps[0], ps[1]
	refused := connectErr(ps[0].Src, ps[0].Dst, syscall.ECONNREFUSED)
	timedOut := timeoutErr(ps[1].Src, ps[1].Dst)
	failed := &net.OpError{Op: "dial", Net: "tcp", Source: ps[0].LocalAddr("tcp"), Addr: ps[0].RemoteAddr("tcp"),
		Err: attemptsErr{refused, timedOut}}
	down := "down.test:443"
	return map[string]fakeDial{
		// The first attempt hangs (blackholed uplink); the second, started after the
		// attempt delay, wins.
		"server.test:443": {
			steps: []fakeStep{
				{at: 0, pair: gua},
				{at: 250 * time.Millisecond, pair: nat},
				{at: 275300 * time.Microsecond, pair: nat, done: true, dur: 25300 * time.Microsecond},
			},
			total: 275400 * time.Microsecond,
			conn:  [2]netip.AddrPort{netip.AddrPortFrom(srcA4, 40000), nat.Dst},
		},
		down: {
			steps: []fakeStep{
				{at: 0, pair: gua},
				{at: 1200 * time.Microsecond, pair: gua, done: true, dur: 1200 * time.Microsecond, err: refused},
				{at: 1300 * time.Microsecond, pair: nat},
				{at: 5 * time.Second, pair: nat, done: true, dur: 5*time.Second - 1300*time.Microsecond, err: timedOut},
			},
			total: 5 * time.Second,
			err:   failed,
		},
		// TLS: the first pair's TCP connects to a middlebox whose silence
		// outlasts the handshake delay; the second pair's handshake wins.
		"tls server.test:443": {
			steps: []fakeStep{
				{at: 0, pair: gua},
				{at: 121300 * time.Microsecond, pair: nat},
				{at: 199 * time.Millisecond, pair: nat, done: true, dur: 77700 * time.Microsecond},
				{at: 199100 * time.Microsecond, pair: gua, done: true, dur: 199100 * time.Microsecond, err: context.Canceled},
			},
			total: 199 * time.Millisecond,
			conn:  [2]netip.AddrPort{netip.AddrPortFrom(srcA4, 40002), nat.Dst},
		},
		// A destination no rule pairs: the kernel chooses the source
		// (a Fallback pair, its source unspecified).
		"fallback.test:8080": {
			steps: []fakeStep{
				{at: 0, pair: fallbackPair()},
				{at: 900 * time.Microsecond, pair: fallbackPair(), done: true, dur: 900 * time.Microsecond},
			},
			total: 950 * time.Microsecond,
			conn:  [2]netip.AddrPort{netip.AddrPortFrom(srcA4, 40003), fallbackPair().Dst},
		},
		"stdlib server.test:443": {
			total: 21300 * time.Microsecond,
			conn:  [2]netip.AddrPort{netip.AddrPortFrom(srcA6, 40001), gua.Dst},
		},
		"stdlib " + down: {
			total: 5 * time.Second,
			err: &net.OpError{Op: "dial", Net: "tcp", Addr: gua.RemoteAddr("tcp"),
				Err: os.ErrDeadlineExceeded},
		},
	}
}

// fallbackPair is the pair Attempts adds when no rule pairs a destination: the
// kernel chooses its source.
func fallbackPair() pairs.Pair {
	return pairs.Pair{Src: netip.AddrPortFrom(netip.IPv4Unspecified(), 0),
		Dst: netip.MustParseAddrPort("198.51.100.80:8080"), Fallback: true, Reason: "fallback: the kernel's choice"}
}

func newScenario() *fakeBackend {
	ps := serverPairs()
	return &fakeBackend{
		pairs: map[string][]pairs.Pair{
			"server.test":  ps,
			"down.test":    ps[:2],
			"nopairs.test": nil,
			"192.0.2.10":   {nat64Pair()},
			"fe80::1%eth0": {mkPair(srcLL, "eth0", netip.MustParseAddr("fe80::1%eth0"),
				time.Millisecond, pairs.Assumed, probe.Alive, "default link-local 1ms")},
		},
		lookups: map[string][]netip.Addr{"server.test": {server6, server4}},
		status:  scenarioStatus(),
		links:   []string{"eth0", "eth1"},
		dials:   scenarioDials(),
	}
}

// nat64Pair is a pair through eth1's NAT64 to the IPv4 literal 192.0.2.10.
func nat64Pair() pairs.Pair {
	p := mkPair(srcB6, "eth1", netip.MustParseAddr("2001:db8:6464::c000:20a"), 206*time.Millisecond,
		pairs.Assumed, probe.Unknown, "default nat64 206ms; kernel's choice")
	p.Synthesized = netip.MustParseAddr("192.0.2.10")
	return p
}
