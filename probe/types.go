package probe

import (
	"net/netip"
	"time"
)

// Result is how one connect attempt ended.
type Result uint8

// Connect results. Refused counts as proof that the path works.
const (
	Success     Result = iota // the connection was established
	Refused                   // the destination answered with a reset (ECONNREFUSED)
	Timeout                   // no answer before the attempt's deadline
	Unreachable               // EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL, ICMP errors
	Canceled                  // the caller gave up (another attempt won, context canceled)
	OtherError                // anything else; says nothing about the path

	// The results of a TLS handshake over a connection whose TCP handshake
	// succeeded (reported besides that Success; see TLSResultOf). They say
	// nothing of the TCP path, only of what answers at its end.
	Middlebox  // TCP connected but TLS did not: something on the path terminates TCP
	TLSSuccess // the TLS handshake completed

	// Superseded is a connect canceled, unanswered, because another attempt of
	// the same dial connected first; Outcome.Duration is how long it waited.
	// The Store decides what that proves: a Timeout when it waited at least the
	// pair's RTO (PairStats.RTO), nothing otherwise.
	Superseded
)

var resultNames = [...]string{"success", "refused", "timeout", "unreachable", "canceled", "error", "middlebox", "tls", "superseded"}

func (r Result) String() string {
	if int(r) < len(resultNames) {
		return resultNames[r]
	}
	return "result(?)"
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (r Result) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// PathWorks reports whether the result proves that packets flow both ways between
// the source and the destination (Success or Refused).
func (r Result) PathWorks() bool { return r == Success || r == Refused }

// Conclusive reports whether the result says anything about the TCP path: every
// connect result but Canceled and OtherError.
func (r Result) Conclusive() bool { return r <= Unreachable }

// TLS reports whether the result is about a TLS handshake (Middlebox, TLSSuccess).
func (r Result) TLS() bool { return r == Middlebox || r == TLSSuccess }

// Path is one (source, destination) pair to connect over. A link-local Src carries
// its zone.
type Path struct {
	Src, Dst netip.AddrPort
}

// Outcome is what one connect attempt found.
type Outcome struct {
	Path
	Result   Result
	Start    time.Time
	Duration time.Duration // from connect to result
	// KernelRTT is the kernel's smoothed RTT for the established connection
	// (TCP_INFO), 0 if unknown.
	KernelRTT time.Duration
	// Active is true for the prober's own attempts, false for the application's.
	Active bool
}

// PairStats is what is known about one (source, destination) address pair.
type PairStats struct {
	SRTT, RTTVar             time.Duration // RFC 6298 smoothed RTT and variation; 0 when no sample
	Samples                  int           // number of RTT samples
	Successes, Failures      int
	LastSuccess, LastFailure time.Time
	// LastTLS is when a TLS handshake over the pair last completed (TLSSuccess),
	// LastMiddlebox when one last failed after TCP connected (Middlebox); zero
	// if never. See Intercepted.
	LastTLS, LastMiddlebox time.Time
}

// Health is what is known of a source address.
type Health uint8

// Source health states.
const (
	Unknown Health = iota // nothing learned yet (treated as alive)
	Alive                 // a path from it worked recently
	Suspect               // failed where other sources worked
	Dead                  // failed repeatedly; re-checked with backoff
)

var healthNames = [...]string{"unknown", "alive", "suspect", "dead"}

func (h Health) String() string {
	if int(h) < len(healthNames) {
		return healthNames[h]
	}
	return "health(?)"
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (h Health) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// Translators is what is known of address translation on the way out: whether a
// ULA source has reached a global destination (NPTv6 or NAT66 on the path) and
// whether an RFC 1918 or 100.64/10 source has reached a global IPv4 destination
// (NAT44). The Tried flags are set by the first conclusive attempt of that kind.
type Translators struct {
	NPTv6, NPTv6Tried bool
	NAT44, NAT44Tried bool
}
