package dialer

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/getapr/getapr/internal/svcb"
	"github.com/getapr/getapr/pairs"
)

// Compile-time checks: DialTLSContext fits http.Transport.DialTLSContext.
var (
	_ func(context.Context, string, string) (net.Conn, error) = (*PairDialer)(nil).DialTLSContext
	_ func(string, string) (net.Conn, error)                  = (*PairDialer)(nil).DialTLS
)

// DialTLS connects to the address on the named network and makes a TLS
// handshake. It is DialTLSContext with context.Background().
func (d *PairDialer) DialTLS(network, address string) (net.Conn, error) {
	return d.DialTLSContext(context.Background(), network, address)
}

// DialTLSContext connects to the address on the named network ("tcp", "tcp4"
// or "tcp6") and makes a TLS handshake with TLSConfig, as tls.Dialer does,
// but over pairs and with the TLS handshake as the success of an attempt
// (Happy Eyeballs v3): the returned net.Conn is a *tls.Conn whose handshake
// is complete. It fits http.Transport.DialTLSContext; with TLSConfig's
// NextProtos set to "h2" and "http/1.1" (and the Transport's
// ForceAttemptHTTP2), HTTP/2 is negotiated.
//
// The race is DialContext's, with these differences:
//
//   - an attempt whose TCP handshake completed has its TLS handshake still to
//     do: the next attempt starts when that is overdue (see AttemptDelay), and
//     an attempt whose TLS handshake fails does not end the race;
//   - a pair whose TCP handshake completed but whose TLS handshake did not (no
//     answer to the ClientHello, a reset, an answer that is not TLS: a
//     TCP-terminating middlebox) is recorded as such (pairs.Pair.Middlebox),
//     and later TLS dials try it after the others; plain TCP dials are not
//     affected;
//   - a certificate that does not verify, an ECH rejection or a TLS alert
//     count against nothing: the peer speaks TLS;
//   - the error is tls.Dialer's, the handshake's own, when one attempt was
//     made, or when every attempt's handshake failed on what the peer
//     answered (one of the above, or a record that is not TLS, which
//     net/http reports as http.ErrSchemeMismatch): the first attempt's;
//     otherwise it lists the attempts, as DialContext's;
//   - the host's HTTPS records (RFC 9460) are looked up beside A and AAAA
//     (see pairs.Query.HTTPS): their priorities, ports, ALPN and address
//     hints shape the race, and with ECH, their ech parameter is used.
//
// An empty host (":443", the local system) is dialed by tls.Dialer with a
// net.Dialer of d's fields.
func (d *PairDialer) DialTLSContext(ctx context.Context, network, address string) (net.Conn, error) {
	if ctx == nil {
		panic("nil context")
	}
	if baseNetwork(network) != "tcp" {
		return nil, &net.OpError{Op: "dial", Net: network, Err: net.UnknownNetworkError(network)}
	}
	if address == "" {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errMissingAddress}
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	cfg := d.tlsConfig(host)
	if host == "" {
		return (&tls.Dialer{NetDialer: d.netDialer(), Config: cfg}).DialContext(ctx, network, address)
	}
	ctx, cancel := d.dialCtx(ctx)
	defer cancel()
	q, err := d.query(ctx, network, "tcp", address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	q.TLS, q.HTTPS, q.ALPN, q.ECH = true, true, cfg.NextProtos, d.ECH
	if len(q.ALPN) == 0 {
		// A ClientHello without ALPN speaks the default protocol only: not
		// h2, which the records' empty-list reading (net/http's) assumes.
		q.ALPN = []string{svcb.DefaultALPN}
	}
	c, err := d.dialOver(ctx, q, "tcp", address, d.selector(), cfg)
	if err != nil {
		return nil, tlsError(err)
	}
	return c, nil
}

// tlsConfig returns the configuration of a handshake to host: a clone of
// TLSConfig (a zero one when nil) whose ServerName, when empty, is host, as
// tls.Dialer sets it.
func (d *PairDialer) tlsConfig(host string) *tls.Config {
	cfg := &tls.Config{}
	if d.TLSConfig != nil {
		cfg = d.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return cfg
}

// handshaker returns the TLS step of a dial's attempts: a client handshake
// with cfg over the connection. With d.ECH, the pair's ECH configuration
// comes from its HTTPS record, whose answer the handshake waits for (service
// says which record covers a pair) before it begins.
func (d *PairDialer) handshaker(cfg *tls.Config, service func(context.Context, pairs.Pair) (*pairs.Service, error)) handshakeFunc {
	return func(ctx context.Context, p pairs.Pair, c net.Conn, begin func()) (net.Conn, time.Duration, error) {
		conf := cfg
		var waited time.Duration
		if d.ECH {
			start := time.Now()
			s, err := service(ctx, p)
			waited = time.Since(start)
			if err != nil {
				return nil, waited, err
			}
			if s != nil && len(s.ECH) > 0 {
				conf = cfg.Clone()
				conf.EncryptedClientHelloConfigList = s.ECH
				conf.MinVersion = tls.VersionTLS13
			}
		}
		begin()
		tc := tls.Client(c, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, waited, err
		}
		return tc, waited, nil
	}
}

// tlsError returns the error of a TLS dial as tls.Dialer would return it,
// which is the handshake's own error once a connect has succeeded: the one
// attempt's error when only one was made, and the first attempt's when every
// attempt's handshake failed on what the peer answered (a certificate that
// does not verify, an ECH rejection, an alert, or a record that is not TLS,
// which net/http reads as http.ErrSchemeMismatch); otherwise err.
func tlsError(err error) error {
	var ae *AttemptsError
	if !errors.As(err, &ae) || len(ae.Attempts) == 0 {
		return err
	}
	if len(ae.Attempts) == 1 {
		return ae.Attempts[0].Err
	}
	for _, a := range ae.Attempts {
		if !peerAnswered(a.Err) {
			return err
		}
	}
	return ae.Attempts[0].Err
}

// peerAnswered reports whether a handshake failed with err on the peer's
// answer: a certificate that does not verify, an ECH rejection, an alert, or
// an answer that is not TLS.
func peerAnswered(err error) bool {
	var cv *tls.CertificateVerificationError
	var ech *tls.ECHRejectionError
	var alert tls.AlertError
	var rh tls.RecordHeaderError
	var oe *net.OpError
	return errors.As(err, &cv) || errors.As(err, &ech) || errors.As(err, &alert) ||
		errors.As(err, &rh) || (errors.As(err, &oe) && oe.Op == "remote error")
}
