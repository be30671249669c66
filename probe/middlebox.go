package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// A TCP-terminating middlebox (a captive portal, a broken transparent proxy,
// hotel Wi-Fi) completes the TCP handshake of every connection itself, so a
// path through it looks perfect to a TCP connect and fails at the TLS
// handshake. The dialer reports what each TLS handshake did (TLSResultOf, and
// TLSOverdue for one cut short); the Store keeps it per pair, and a pair whose
// latest TLS evidence is a failure is intercepted (PairStats.Intercepted):
// the ranking then tries it last for TLS, and not at all differently for
// plain TCP.

// MiddleboxHold is how long a middlebox verdict lasts without new evidence:
// after it, the pair is tried for TLS as any other again (a portal may have
// been passed, the network fixed).
const MiddleboxHold = 10 * time.Minute

// tlsOverdueRTTs and tlsOverdueSlack bound how long a TLS handshake may take
// before its silence counts as evidence (TLSOverdue): three of the pair's
// round trips (TLS 1.3 needs one, TLS 1.2 two) and some slack for the server's
// work.
const (
	tlsOverdueRTTs  = 3
	tlsOverdueSlack = 100 * time.Millisecond
)

// TLSResultOf classifies how a TLS handshake over an established TCP
// connection ended:
//
//   - nil is TLSSuccess;
//   - context.Canceled is Canceled: the caller gave up (see TLSOverdue);
//   - no answer before a deadline, a reset, the connection closed (EOF) or an
//     answer that is not TLS (tls.RecordHeaderError) is Middlebox: something
//     took the TCP connection that does not speak TLS;
//   - anything else is OtherError: a certificate that does not verify, an ECH
//     rejection, a TLS alert from the peer or a local error mean that the peer
//     speaks TLS, so they say nothing against the path.
func TLSResultOf(err error) Result {
	var rh tls.RecordHeaderError
	switch {
	case err == nil:
		return TLSSuccess
	case errors.Is(err, context.Canceled):
		return Canceled
	case isTLSAnswer(err):
		return OtherError
	case isTimeout(err), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.As(err, &rh):
		return Middlebox
	}
	return OtherError
}

// isTLSAnswer reports whether err shows that the peer speaks TLS: a
// certificate it sent did not verify, it rejected ECH, or it sent an alert.
func isTLSAnswer(err error) bool {
	var cv *tls.CertificateVerificationError
	var ech *tls.ECHRejectionError
	var ae tls.AlertError // an alert this side sent about what the peer sent
	if errors.As(err, &cv) || errors.As(err, &ech) || errors.As(err, &ae) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error" // crypto/tls's form of an alert received
}

// TLSOverdue reports whether a TLS handshake that had waited waited, over a
// pair whose round-trip time is rtt, when it was canceled because another
// attempt won, is evidence of a middlebox (to be reported as Middlebox): it
// waited three round trips and 100 ms more without finishing. rtt is best the
// kernel's estimate from the TCP handshake (TCP_INFO), which the process's
// own scheduling does not inflate; else the time the connect took.
func TLSOverdue(rtt, waited time.Duration) bool {
	return waited >= tlsOverdueRTTs*max(rtt, 0)+tlsOverdueSlack
}

// Intercepted reports whether the pair's TLS evidence at now says a middlebox:
// its latest TLS handshake failed after TCP connected (LastMiddlebox after
// LastTLS), less than MiddleboxHold ago.
func (ps PairStats) Intercepted(now time.Time) bool {
	m := ps.LastMiddlebox
	return !m.IsZero() && m.After(ps.LastTLS) && now.Sub(m) < MiddleboxHold
}

// reportTLS records a TLS outcome (Report has checked the addresses).
func (s *Store) reportTLS(src, dst netip.Addr, o Outcome) {
	now := endTime(o)
	s.mu.Lock()
	defer s.mu.Unlock()
	sc := s.reportingSource(src, dst, now)
	if sc == nil {
		return
	}
	s.bump(true)
	p := s.pairOf(sc, dst)
	p.updated = now
	was := p.stats.Intercepted(now)
	if o.Result == Middlebox {
		p.stats.LastMiddlebox = now
	} else {
		p.stats.LastTLS = now
	}
	if is := p.stats.Intercepted(now); is != was {
		s.changed = now
		s.log.Info("middlebox verdict changed", zap.Stringer("src", src), zap.Stringer("dst", dst),
			zap.Bool("intercepted", is))
	}
	s.evict()
}

// MiddleboxStatus is a pair whose path ends at a TCP-terminating middlebox
// (PairStats.Intercepted).
type MiddleboxStatus struct {
	Src   netip.Addr `json:"src"`
	Dst   netip.Addr `json:"dst"`
	Since time.Time  `json:"since"` // the latest evidence
}

// middleboxes returns the intercepted pairs at now, in no order (Status
// sorts them outside the lock). s.mu is held.
func (s *Store) middleboxes(now time.Time) []MiddleboxStatus {
	var out []MiddleboxStatus
	for _, sc := range s.sources {
		for _, p := range sc.pairs {
			if p.stats.Intercepted(now) {
				out = append(out, MiddleboxStatus{Src: sc.addr, Dst: p.dst, Since: p.stats.LastMiddlebox})
			}
		}
	}
	return out
}

// compareMiddleboxes orders middlebox verdicts by source, then destination.
func compareMiddleboxes(a, b MiddleboxStatus) int {
	if c := a.Src.Compare(b.Src); c != 0 {
		return c
	}
	return a.Dst.Compare(b.Dst)
}
