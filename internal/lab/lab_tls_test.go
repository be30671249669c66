//go:build lab

package lab_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/dnsstub"
	"github.com/getapr/getapr/internal/lab"
)

// getEcho makes an HTTPS request from src to dst over a connection it dials
// itself, with the lab's CA and the given server name and ECH config list.
func getEcho(t *testing.T, l *lab.Lab, src netip.Addr, dst netip.AddrPort, sni string, ech []byte) (lab.HTTPSEcho, error) {
	t.Helper()
	cfg := &tls.Config{RootCAs: l.RootCAs(), ServerName: sni, EncryptedClientHelloConfigList: ech}
	tr := &http.Transport{
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
			return d.DialContext(ctx, network, dst.String())
		},
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 3 * time.Second}).Get("https://" + net.JoinHostPort(sni, "443") + "/")
	if err != nil {
		return lab.HTTPSEcho{}, err
	}
	defer resp.Body.Close()
	var e lab.HTTPSEcho
	err = json.NewDecoder(resp.Body).Decode(&e)
	return e, err
}

func TestTLSServer(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	b := l.Uplink(1)
	for _, tc := range []struct {
		src, dst netip.Addr
		port     uint16
		seen     netip.Addr
	}{
		{b.GUA, s.Open6, s.TLSPort, b.GUA},
		{b.IPv4, s.Open4, s.TLSPort, b.IPv4Outside},
		{b.GUA, s.Open6, s.AltTLSPort, b.GUA},
		{l.Uplink(0).IPv4, s.Open4, s.AltTLSPort, l.Uplink(0).IPv4Outside},
	} {
		dst := netip.AddrPortFrom(tc.dst, tc.port)
		e, err := getEcho(t, l, tc.src, dst, s.Name, nil)
		if err != nil {
			t.Errorf("%v -> %v: %v", tc.src, dst, err)
			continue
		}
		if e.Proto != "HTTP/2.0" || e.Peer.Addr() != tc.seen || e.Local != dst || e.ECH {
			t.Errorf("%v -> %v: echo %+v; want HTTP/2.0 from %v, no ECH", tc.src, dst, e, tc.seen)
		}
	}
}

func TestMiddlebox(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	a, b := l.Uplink(0), l.Uplink(1)
	dst := netip.AddrPortFrom(s.Open6, s.TLSPort)
	handshake := func(src netip.Addr, dst netip.AddrPort) error {
		c, _, err := dial(src, dst, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		return tls.Client(c, &tls.Config{RootCAs: l.RootCAs(), ServerName: s.Name}).Handshake()
	}
	isTimeout := func(err error) bool {
		ne, ok := errors.AsType[net.Error](err)
		return ok && ne.Timeout()
	}

	must(t, l.Middlebox(0, lab.MiddleboxSilent))
	for _, src := range []netip.Addr{a.GUA, a.ULA, a.IPv4} {
		d := dst
		if src.Is4() {
			d = netip.AddrPortFrom(s.Open4, s.TLSPort)
		}
		if err := handshake(src, d); !isTimeout(err) {
			t.Errorf("silent middlebox, %v -> %v: %v; want TCP up and the handshake timing out", src, d, err)
		}
	}
	if err := handshake(b.GUA, dst); err != nil {
		t.Errorf("silent middlebox on A, %v over B: %v", b.GUA, err)
	}
	if err := handshake(a.GUA, netip.AddrPortFrom(s.Open6, s.AltTLSPort)); err != nil {
		t.Errorf("silent middlebox on A, another port: %v", err)
	}
	// The middlebox answers the TCP handshake itself, even for an address that
	// drops everything.
	c, _, err := dial(a.GUA, netip.AddrPortFrom(s.Drop6, s.TLSPort), time.Second)
	if err != nil {
		t.Errorf("middlebox on A: TCP to a dropping address: %v; want the middlebox to accept", err)
	} else {
		c.Close()
	}

	must(t, l.Middlebox(0, lab.MiddleboxReset))
	if err := handshake(a.GUA, dst); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("resetting middlebox: %v; want ECONNRESET", err)
	}

	must(t, l.Middlebox(0, lab.MiddleboxOff))
	if err := handshake(a.GUA, dst); err != nil {
		t.Errorf("middlebox off: %v", err)
	}
	if err := l.Middlebox(0, lab.MiddleboxMode(9)); err == nil {
		t.Error("unknown middlebox mode accepted")
	}
}

// TestHTTPSRecords looks the lab's HTTPS records up with the project's stub
// resolver reading the client namespace's resolv.conf, and connects with ECH
// from the record.
func TestHTTPSRecords(t *testing.T) {
	l := lab.Current(t)
	s := l.Server()
	conf, err := dnsstub.ReadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	c := &dnsstub.Client{Config: conf}
	ctx := t.Context()
	got, err := c.LookupHTTPS(ctx, s.AliasName, 443)
	if err != nil || got.Owner != s.HTTPSName+"." || len(got.Records) != 1 || got.Records[0].Port != s.AltTLSPort {
		t.Errorf("HTTPS of %s: %+v, %v; want %s's record with port %d", s.AliasName, got, err, s.HTTPSName, s.AltTLSPort)
	}
	got, err = c.LookupHTTPS(ctx, s.ApexAliasName, 443)
	if err != nil || got.Alias != s.Name+"." || len(got.Records) != 0 {
		t.Errorf("HTTPS of %s: %+v, %v; want the alias %s and no records", s.ApexAliasName, got, err, s.Name)
	}
	got, err = c.LookupHTTPS(ctx, s.ECHName, 443)
	if err != nil || len(got.Records) != 1 || got.Records[0].ECH == nil {
		t.Fatalf("HTTPS of %s: %+v, %v", s.ECHName, got, err)
	}
	e, err := getEcho(t, l, l.Uplink(1).GUA, netip.AddrPortFrom(s.Open6, s.TLSPort), s.ECHName, got.Records[0].ECH)
	if err != nil || !e.ECH || e.ServerName != s.ECHName {
		t.Errorf("with ECH from DNS: %+v, %v; want ECH accepted, inner name %s", e, err, s.ECHName)
	}
	start := time.Now()
	got, err = c.LookupHTTPS(ctx, s.HintsName, 443)
	if el := time.Since(start); err != nil || len(got.Records[0].IPv6Hint) != 1 || el > s.SlowAAAADelay/2 {
		t.Errorf("HTTPS of %s: %+v, %v after %v; want hints, at once", s.HintsName, got, err, el)
	}
}
