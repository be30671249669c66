package dialer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// testCert returns a self-signed certificate for 127.0.0.1 and a pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames: []string{"svc.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, pool
}

// serve accepts connections on a loopback listener and runs handle on each
// until the test ends; it returns the listener's address.
func serve(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback: %v", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return netip.MustParseAddrPort(ln.Addr().String())
}

// tlsServer answers TLS handshakes with cert (HTTP/2 and HTTP/1.1 offered)
// and reads until the client closes.
func tlsServer(t *testing.T, cert tls.Certificate) netip.AddrPort {
	return serve(t, func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}})
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		if tc.Handshake() == nil {
			_, _ = io.Copy(io.Discard, tc)
		}
	})
}

// loopPair is a loopback pair to dst.
func loopPair(dst netip.AddrPort) pairs.Pair {
	return pairs.Pair{Src: netip.MustParseAddrPort("127.0.0.1:0"), Dst: dst, Interface: "lo",
		SrcClass: netstate.Loopback, DstClass: netstate.Loopback}
}

func TestDialTLSContextLoopback(t *testing.T) {
	cert, pool := testCert(t)
	srv := tlsServer(t, cert)
	sel, err := pairs.New(pairs.WithoutProbing())
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	d := &PairDialer{Selector: sel, TLSConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"h2", "http/1.1"}}}
	c, err := d.DialTLSContext(t.Context(), "tcp", srv.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc, ok := c.(*tls.Conn)
	if !ok {
		t.Fatalf("DialTLSContext returned a %T, want *tls.Conn", c)
	}
	// It verified, so ServerName was set: to the host, 127.0.0.1 (crypto/tls
	// refuses an empty one, and sends no SNI for an address).
	st := tc.ConnectionState()
	if !st.HandshakeComplete || st.NegotiatedProtocol != "h2" || len(st.VerifiedChains) == 0 {
		t.Errorf("state: complete %v, protocol %q, %d verified chains; want complete, h2, verified",
			st.HandshakeComplete, st.NegotiatedProtocol, len(st.VerifiedChains))
	}

	// A certificate that does not verify: tls.Dialer's error, as it is.
	_, err = (&PairDialer{Selector: sel}).DialTLSContext(t.Context(), "tcp", srv.String())
	var cv *tls.CertificateVerificationError
	if !errors.As(err, &cv) || err != error(cv) {
		t.Errorf("untrusted certificate: %v (%T), want the *tls.CertificateVerificationError itself", err, err)
	}
	if _, err := d.DialTLSContext(t.Context(), "udp", srv.String()); err == nil {
		t.Error("DialTLSContext over udp: no error")
	}
}

// TestDialTLSMiddlebox races a pair to a middlebox (TCP accepted, the
// ClientHello answered with a reset) and a pair to the TLS server: the
// second wins, and probe hears of the first as a middlebox.
func TestDialTLSMiddlebox(t *testing.T) {
	cert, pool := testCert(t)
	srv := tlsServer(t, cert)
	box := serve(t, func(c net.Conn) {
		buf := make([]byte, 512)
		_, _ = c.Read(buf)
		_ = c.(*net.TCPConn).SetLinger(0)
	})
	sel := &fakeSelector{pairs: []pairs.Pair{loopPair(box), loopPair(srv)}}
	d := &PairDialer{TLSConfig: &tls.Config{RootCAs: pool, ServerName: "svc.test"}}
	before := openFDs(t)
	for range 5 {
		c, err := d.dialOver(t.Context(), pairs.Query{Network: "tcp", Host: "svc.test", Port: srv.Port(), TLS: true}, "tcp", "", sel, d.tlsConfig("svc.test"))
		if err != nil {
			t.Fatal(err)
		}
		if c.(*tls.Conn).RemoteAddr().String() != srv.String() {
			t.Errorf("connected to %v, want the TLS server %v", c.RemoteAddr(), srv)
		}
		c.Close()
	}
	// The servers' ends, in this process too, close once they see the
	// client's close: give them a moment.
	deadline := time.Now().Add(5 * time.Second)
	for after := openFDs(t); after > before; after = openFDs(t) {
		if time.Now().After(deadline) {
			t.Errorf("%d file descriptors open after the dials, %d before", after, before)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var results []probe.Result
	for _, o := range sel.outcomes {
		if o.Dst == box {
			results = append(results, o.Result)
		}
	}
	// Loopback pairs are not measured for RTT, but what TLS proved is kept.
	if len(results) != 10 || results[0] != probe.Success || results[1] != probe.Middlebox {
		t.Errorf("outcomes of the middlebox pair: %v; want success, middlebox five times", results)
	}
}

// openFDs counts this process's open file descriptors (Linux), or skips.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(ents)
}

func TestTLSConfigServerName(t *testing.T) {
	d := &PairDialer{TLSConfig: &tls.Config{ServerName: "given.test", NextProtos: []string{"h2"}}}
	if c := d.tlsConfig("host.test"); c.ServerName != "given.test" || c == d.TLSConfig {
		t.Errorf("config %+v: want a clone keeping ServerName", c)
	}
	if c := (&PairDialer{}).tlsConfig("host.test"); c.ServerName != "host.test" {
		t.Errorf("ServerName %q, want the host", c.ServerName)
	}
}

// TestHandshakerECH: with ECH on, the handshake takes the pair's record's
// ECH config (waiting for it through service, before it tells the race that
// it begins); without, it does not ask.
func TestHandshakerECH(t *testing.T) {
	asked, askedAtBegin := 0, -1
	service := func(context.Context, pairs.Pair) (*pairs.Service, error) {
		asked++
		return &pairs.Service{ECH: []byte{1, 2, 3}}, nil // not a valid list: the handshake fails on it
	}
	c1, c2 := net.Pipe()
	defer c2.Close()
	begin := func() { askedAtBegin = asked }
	_, _, err := (&PairDialer{ECH: true}).handshaker(&tls.Config{ServerName: "x.test"}, service)(t.Context(), pairs.Pair{}, c1, begin)
	if asked != 1 || err == nil {
		t.Errorf("with ECH: asked %d, err %v; want asked once and the malformed config refused", asked, err)
	}
	if askedAtBegin != 1 {
		t.Errorf("begin called with the service asked %d times; want after it answered", askedAtBegin)
	}
	if probe.TLSResultOf(err) == probe.Middlebox {
		t.Errorf("a local ECH config error counts as a middlebox: %v", err)
	}
	c1.Close()
}

// TestTLSErrorEveryPeerAnswer: when every attempt's handshake failed on what
// the peer answered, the error is the first attempt's, as tls.Dialer's; when
// one of them failed otherwise, the attempts are listed.
func TestTLSErrorEveryPeerAnswer(t *testing.T) {
	notTLS := tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		errs []error
		raw  bool
	}{
		{"one attempt", []error{refused}, true},
		{"every answer not TLS", []error{notTLS, notTLS}, true},
		{"a certificate, then not TLS", []error{errCert, notTLS}, true},
		{"refused, then not TLS", []error{refused, notTLS}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ae := &AttemptsError{}
			for _, err := range tc.errs {
				ae.Attempts = append(ae.Attempts, &AttemptError{Err: err})
			}
			err := tlsError(&net.OpError{Op: "dial", Net: "tcp", Err: ae})
			if raw := err == tc.errs[0]; raw != tc.raw {
				t.Errorf("tlsError = %v; want the first attempt's error as it is: %v", err, tc.raw)
			}
		})
	}
}
