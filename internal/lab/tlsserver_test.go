package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"testing"
	"time"
)

// TestHTTPSServer runs the lab's HTTPS server on loopback with a fresh test
// PKI and asks it as the tests will: verified against the test CA, HTTP/2,
// and with ECH from the config list the zone publishes.
func TestHTTPSServer(t *testing.T) {
	pki, err := newTestPKI("unit", []netip.Addr{netip.MustParseAddr("127.0.0.1")}, echPublicName)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := serveHTTPS(pki, []net.Listener{ln})
	defer s.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pki.caPEM) {
		t.Fatal("CA PEM does not parse")
	}
	addr := ln.Addr().String()
	for _, tc := range []struct {
		name, sni string
		ech       bool
		proto     string
	}{
		{"h2 by name", "server." + zoneDomain, false, "HTTP/2.0"},
		{"h2 with ECH", "ech." + zoneDomain, true, "HTTP/2.0"},
		{"by address", "127.0.0.1", false, "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: roots, ServerName: tc.sni}
			if tc.ech {
				cfg.EncryptedClientHelloConfigList = pki.echList
			}
			tr := &http.Transport{
				TLSClientConfig:   cfg,
				ForceAttemptHTTP2: true,
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					var d net.Dialer
					return d.DialContext(ctx, network, addr)
				},
			}
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("https://" + net.JoinHostPort(tc.sni, "443") + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e HTTPSEcho
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if e.Proto != tc.proto || e.ECH != tc.ech || e.ServerName != tc.sni && tc.sni != "127.0.0.1" ||
				!e.Peer.Addr().IsLoopback() || e.Local.String() != addr {
				t.Errorf("echo %+v; want proto %s, ECH %v, SNI %s, local %s", e, tc.proto, tc.ech, tc.sni, addr)
			}
		})
	}
	// A client that does not trust the test CA fails verification.
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "server." + zoneDomain, RootCAs: x509.NewCertPool()})
	if err == nil {
		c.Close()
		t.Fatal("handshake verified without the test CA")
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); !ok {
		t.Errorf("error %v, want a *tls.CertificateVerificationError", err)
	}
}

func TestECHConfigList(t *testing.T) {
	k, list, err := newECHKey(7, "public.example")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2+len(k.Config) || int(list[0])<<8|int(list[1]) != len(k.Config) {
		t.Fatalf("list length prefix %x for a config of %d bytes", list[:2], len(k.Config))
	}
	if k.Config[0] != 0xfe || k.Config[1] != 0x0d || int(k.Config[2])<<8|int(k.Config[3]) != len(k.Config)-4 || k.Config[4] != 7 {
		t.Errorf("config header %x", k.Config[:5])
	}
}

// TestMiddleboxHandlers: the silent middlebox never answers the ClientHello,
// the resetting one answers it with RST.
func TestMiddleboxHandlers(t *testing.T) {
	for _, tc := range []struct {
		mode MiddleboxMode
		want func(error) bool
	}{
		{MiddleboxSilent, func(err error) bool {
			var ne net.Error
			return errors.As(err, &ne) && ne.Timeout()
		}},
		{MiddleboxReset, func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			s := serveConns(ln, middleboxHandler(tc.mode))
			defer s.Close()
			raw, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.SetDeadline(time.Now().Add(300 * time.Millisecond))
			err = tls.Client(raw, &tls.Config{ServerName: "server." + zoneDomain}).Handshake()
			if !tc.want(err) {
				t.Errorf("handshake through the %s middlebox: %v", tc.mode, err)
			}
		})
	}
}
