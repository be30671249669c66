package dialer

import (
	"time"

	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// Connection Attempt Delay bounds (RFC 8305 section 5 and section 8).
const (
	// DefaultAttemptDelay is the delay between the starts of two attempts when
	// AttemptDelay is zero and the pair's round-trip time has not been measured.
	DefaultAttemptDelay = 250 * time.Millisecond
	// MinAttemptDelay is the floor of any attempt delay, also one set by hand.
	MinAttemptDelay = 10 * time.Millisecond
)

// attemptDelay returns how long to wait after starting an attempt over p before
// starting the next one. configured is PairDialer.AttemptDelay and must not be
// negative (negative means serial and has no delay).
//
// A configured delay is used as is, floored at MinAttemptDelay. Otherwise, when
// p's round-trip time was measured for this very pair, the delay is the
// retransmission timeout probe derives from it (Pair.RTO: SRTT + 4·RTTVAR,
// clamped to [100 ms, 2 s]); without a measurement it is DefaultAttemptDelay.
func attemptDelay(configured time.Duration, p pairs.Pair) time.Duration {
	if configured > 0 {
		return max(configured, MinAttemptDelay)
	}
	if p.Basis != pairs.Measured || p.Latency <= 0 {
		return DefaultAttemptDelay
	}
	return p.RTO()
}

// handshakeDelay returns how long to wait for an attempt's handshake (TLS),
// once its connect has completed in connect, before the next attempt starts:
// the draft's "estimated time for the full connection establishment". A
// configured delay is used as for a connect. Otherwise, when p's RTT was
// measured, the retransmission timeout attemptDelay derives from it (a TLS
// 1.3 handshake takes one round trip); without a measurement, twice the
// connect's time (the round trip and as much again for the server's work);
// clamped to [100 ms, 2 s].
func handshakeDelay(configured time.Duration, p pairs.Pair, connect time.Duration) time.Duration {
	if configured > 0 {
		return max(configured, MinAttemptDelay)
	}
	if p.Basis == pairs.Measured && p.Latency > 0 {
		return attemptDelay(0, p)
	}
	return min(max(2*connect, probe.MinRTO), probe.MaxRTO)
}

// partialDeadline returns the deadline of one attempt in serial mode, when
// remaining attempts (this one included) share the time left before deadline:
// an equal share, but at least 2 s taken from the later ones when the share is
// shorter (as net.Dialer does). ok is false when deadline has passed. A zero
// deadline gives a zero deadline.
func partialDeadline(now, deadline time.Time, remaining int) (t time.Time, ok bool) {
	if deadline.IsZero() {
		return deadline, true
	}
	left := deadline.Sub(now)
	if left <= 0 {
		return time.Time{}, false
	}
	const saneMinimum = 2 * time.Second
	share := left / time.Duration(max(remaining, 1))
	if share < saneMinimum {
		share = min(left, saneMinimum)
	}
	return now.Add(share), true
}
