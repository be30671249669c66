package dialer_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/getapr/getapr/dialer"
)

// The Control calls and errors of PairDialer and net.Dialer compared over a
// table: every TCP and UDP network; loopback, unspecified and empty hosts,
// "localhost" (from the hosts file) and a name the resolver cannot find (its
// DNS fails without leaving the process); an open and a closed port; with and
// without a LocalAddr.

// errorFields is what a caller reads of a dial's error: the *net.OpError's
// Op, Net, Source and Addr, and which of a few errnos errors.Is finds.
func errorFields(err error) string {
	if err == nil {
		return "<nil>"
	}
	var b strings.Builder
	var oe *net.OpError
	if errors.As(err, &oe) {
		fmt.Fprintf(&b, "Op=%s Net=%s Source=%v Addr=%v", oe.Op, oe.Net, oe.Source, oe.Addr)
	} else {
		fmt.Fprintf(&b, "%T", err)
	}
	for _, e := range []syscall.Errno{syscall.ECONNREFUSED, syscall.EADDRNOTAVAIL, syscall.EINVAL,
		syscall.EAFNOSUPPORT, syscall.ENETUNREACH, syscall.EHOSTUNREACH} {
		if errors.Is(err, e) {
			b.WriteString(" Is " + unixErrnoName(e))
		}
	}
	var ae *net.AddrError
	if errors.As(err, &ae) {
		fmt.Fprintf(&b, " AddrError(%s, %s)", ae.Err, ae.Addr)
	}
	return b.String()
}

// TestControlAndErrorsLikeNet dials every input with both dialers and
// compares the (network, address) of each Control call, in order, and the
// error's fields, or the connection's address families. A name with two
// addresses ("localhost") may be dialed in another order (PairDialer ranks
// by RFC 6724, net.Dialer takes the resolver's first family first), and
// when every attempt fails PairDialer's Err is an *AttemptsError (the
// README's intended differences): for those, the Control calls are compared
// as a set, and only the fields of the error the README promises.
func TestControlAndErrorsLikeNet(t *testing.T) {
	sel := newSelector(t)
	r := noDNSResolver()
	tcp := listen(t, "tcp", "[::]:0") // dual-stack: 127.0.0.1 and ::1 connect
	open := port(tcp)
	_, closed, _ := net.SplitHostPort(closedAddr(t))
	udp, err := net.ListenPacket("udp", "[::]:"+open)
	if err != nil {
		t.Skipf("cannot listen on udp [::]:%s: %v", open, err)
	}
	defer udp.Close()
	hosts := []string{"127.0.0.1", "[::1]", "localhost", "[::]", "0.0.0.0", "", "nosuch.invalid"}
	locals := []netip.Addr{{}, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback(), netip.IPv6Unspecified()}
	var rows []string
	differ := 0
	for _, network := range []string{"tcp", "tcp4", "tcp6", "udp", "udp4", "udp6"} {
		for _, host := range hosts {
			for _, p := range []string{open, closed} {
				for _, local := range locals {
					la := localFor(network[:3], local)
					address := host + ":" + p
					var pl, nl ctlLog
					pd := &dialer.PairDialer{Selector: sel, Resolver: r, LocalAddr: la, Control: pl.control}
					nd := &net.Dialer{Resolver: r, LocalAddr: la, Control: nl.control}
					pc, perr := pd.DialContext(t.Context(), network, address)
					nc, nerr := nd.DialContext(t.Context(), network, address)
					got, want := outcome(pc, perr), outcome(nc, nerr)
					gotCalls, wantCalls := pl.String(), nl.String()
					gotErr, wantErr := errorFields(perr), errorFields(nerr)
					ranked := host == "localhost"
					if ranked {
						// Another order, and, when every attempt failed,
						// *AttemptsError (same OpError fields, same errnos).
						gotCalls, wantCalls = sortedCalls(&pl), sortedCalls(&nl)
						if perr != nil && nerr != nil {
							got, want = gotErr, wantErr
						} else {
							got, want = okOrNot(perr), okOrNot(nerr)
						}
					}
					name := fmt.Sprintf("%s %q LocalAddr=%v", network, address, la)
					if got != want || gotCalls != wantCalls || gotErr != wantErr {
						differ++
						rows = append(rows, fmt.Sprintf("%s:\n\tControl: PairDialer %s, net.Dialer %s\n\tPairDialer: %s\n\t            %s\n\tnet.Dialer: %s\n\t            %s",
							name, gotCalls, wantCalls, got, gotErr, want, wantErr))
					}
				}
			}
		}
	}
	for _, row := range rows {
		t.Error(row)
	}
	t.Logf("%d inputs differ", differ)
}

// sortedCalls returns l's calls sorted.
func sortedCalls(l *ctlLog) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprint(slices.Sorted(slices.Values(l.calls)))
}

// okOrNot says whether a dial connected.
func okOrNot(err error) string {
	if err == nil {
		return "connected"
	}
	return "failed"
}
