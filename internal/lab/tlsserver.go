package lab

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// The lab's TLS: a test CA made at bring-up (nothing that expires is
// committed), a certificate for every name of the zone and the server's
// addresses, and an ECH key whose config the zone's ech name publishes.

// certLifetime is how long the CA and the server certificate are valid from
// bring-up; an hour of slack before it covers clocks that differ.
const certLifetime = 30 * 24 * time.Hour

// testPKI is the lab's CA and what it signed.
type testPKI struct {
	caPEM   []byte          // the CA certificate, PEM; handed to the tests
	server  tls.Certificate // for *.getapr.test, getapr.test and the server's addresses
	ech     tls.EncryptedClientHelloKey
	echList []byte // the ECHConfigList the zone publishes
}

// newTestPKI makes a CA for the lab called name, the server certificate and
// the ECH key for publicName.
func newTestPKI(name string, ips []netip.Addr, publicName string) (*testPKI, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "getapr lab " + name + " test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certLifetime),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return nil, err
	}
	pki := &testPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	if pki.server, err = issue(ca, caKey, []string{"*." + zoneDomain, zoneDomain}, ips, now); err != nil {
		return nil, err
	}
	if pki.ech, pki.echList, err = newECHKey(1, publicName); err != nil {
		return nil, err
	}
	return pki, nil
}

// issue makes a server certificate signed by ca.
func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, names []string, ips []netip.Addr, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der, ca.Raw}, PrivateKey: key}, nil
}

// newECHKey makes an X25519 ECH key and its ECHConfig (RFC 9849 section 4:
// version 0xfe0d, HKDF-SHA256 with AES-128-GCM), and returns the server's key
// and the one-config ECHConfigList a client gets from the HTTPS record.
func newECHKey(id uint8, publicName string) (tls.EncryptedClientHelloKey, []byte, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return tls.EncryptedClientHelloKey{}, nil, err
	}
	if len(publicName) == 0 || len(publicName) > 255 {
		return tls.EncryptedClientHelloKey{}, nil, errors.New("lab: bad ECH public name")
	}
	pub := k.PublicKey().Bytes()
	var c []byte                                 // ECHConfigContents
	c = append(c, id)                            // config_id
	c = binary.BigEndian.AppendUint16(c, 0x0020) // kem_id: DHKEM(X25519, HKDF-SHA256)
	c = binary.BigEndian.AppendUint16(c, uint16(len(pub)))
	c = append(c, pub...)                        // public_key
	c = binary.BigEndian.AppendUint16(c, 4)      // cipher_suites, one:
	c = binary.BigEndian.AppendUint16(c, 0x0001) // HKDF-SHA256
	c = binary.BigEndian.AppendUint16(c, 0x0001) // AES-128-GCM
	c = append(c, 0, byte(len(publicName)))      // maximum_name_length 0; public_name
	c = append(c, publicName...)
	c = binary.BigEndian.AppendUint16(c, 0)              // no extensions
	config := binary.BigEndian.AppendUint16(nil, 0xfe0d) // version
	config = binary.BigEndian.AppendUint16(config, uint16(len(c)))
	config = append(config, c...)
	list := binary.BigEndian.AppendUint16(nil, uint16(len(config)))
	list = append(list, config...)
	return tls.EncryptedClientHelloKey{Config: config, PrivateKey: k.Bytes(), SendAsRetry: true}, list, nil
}

// HTTPSEcho is what the lab's HTTPS server answers to any request: what it
// saw of the connection. Tests decode it from the body with encoding/json.
type HTTPSEcho struct {
	// Peer is the client's address and port as the server sees it.
	Peer netip.AddrPort `json:"peer"`
	// Local is the address and port the connection reached.
	Local netip.AddrPort `json:"local"`
	// Proto is the request's protocol: "HTTP/2.0" or "HTTP/1.1".
	Proto string `json:"proto"`
	// ServerName is the SNI the server saw (the inner one with ECH).
	ServerName string `json:"sni"`
	// ECH is set when the handshake used Encrypted Client Hello.
	ECH bool `json:"ech"`
}

// echoHTTPS is the HTTPS server's handler.
func echoHTTPS(w http.ResponseWriter, r *http.Request) {
	e := HTTPSEcho{Proto: r.Proto}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		e.Peer = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		e.Local = addrPortOf(la)
	}
	if r.TLS != nil {
		e.ServerName, e.ECH = r.TLS.ServerName, r.TLS.ECHAccepted
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(e)
}

// httpsServer serves echoHTTPS over TLS (HTTP/2 and HTTP/1.1) on listeners.
type httpsServer struct {
	srv  *http.Server
	wg   sync.WaitGroup
	once sync.Once
}

func serveHTTPS(pki *testPKI, lns []net.Listener) *httpsServer {
	s := &httpsServer{srv: &http.Server{
		Handler:           http.HandlerFunc(echoHTTPS),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{
			Certificates:             []tls.Certificate{pki.server},
			EncryptedClientHelloKeys: []tls.EncryptedClientHelloKey{pki.ech},
		},
		ErrorLog: log.New(io.Discard, "", 0), // clients that hang up mid-handshake are normal here
	}}
	for _, ln := range lns {
		s.wg.Go(func() { _ = s.srv.ServeTLS(ln, "", "") })
	}
	return s
}

// Close closes the listeners and every connection, and waits for the serving
// goroutines.
func (s *httpsServer) Close() error {
	var err error
	s.once.Do(func() {
		err = s.srv.Close()
		s.wg.Wait()
	})
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// startTLS starts the HTTPS server on Open6 and Open4, ports tlsPort and
// altTLSPort, in the server namespace.
func (o *owner) startTLS(pki *testPKI) error {
	p := &o.plan
	var lns []net.Listener
	for _, a := range []netip.Addr{p.Server.Open6, p.Server.Open4} {
		for _, port := range []uint16{tlsPort, altTLSPort} {
			ln, err := listenIn(p.ns(roleServer), "tcp", netip.AddrPortFrom(a, port).String())
			if err != nil {
				for _, l := range lns {
					l.Close()
				}
				return fmt.Errorf("lab: HTTPS server: %w", err)
			}
			lns = append(lns, ln)
		}
	}
	o.others = append(o.others, serveHTTPS(pki, lns))
	return nil
}

// startMiddleboxes starts the middlebox listeners of every mode on both ISP
// routers; the redirect rules (Lab.Middlebox) decide which one, if any, gets
// connections.
func (o *owner) startMiddleboxes() error {
	p := &o.plan
	for i := range p.Uplinks {
		for m, port := range middleboxPorts {
			ln, err := listenIn(p.ns(p.Uplinks[i].ISP), "tcp", fmt.Sprintf("[::]:%d", port))
			if err != nil {
				return fmt.Errorf("lab: middlebox: %w", err)
			}
			o.others = append(o.others, serveConns(ln, middleboxHandler(m)))
		}
	}
	return nil
}
