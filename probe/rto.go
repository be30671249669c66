package probe

import "time"

// The bounds of RTO.
const (
	// InitialRTO is TCP's retransmission timeout before any RTT sample (RFC 6298
	// section 2.1): a working path answers a SYN within it.
	InitialRTO = time.Second
	// MinRTO and MaxRTO clamp a timeout derived from a measured RTT: RFC 8305's
	// bounds for a connection attempt delay (section 5).
	MinRTO = 100 * time.Millisecond
	MaxRTO = 2 * time.Second
)

// RTO returns the retransmission timeout of a path whose RTT estimate is srtt
// with variation rttvar, as RFC 6298 section 2 derives it, SRTT + 4·RTTVAR,
// clamped to [MinRTO, MaxRTO]; InitialRTO when srtt is not positive (nothing
// measured). It is how long an attempt over the path may go unanswered before
// the next one starts, and how long an attempt left unanswered while another
// connected (Superseded) may have waited before its silence counts against the
// path.
func RTO(srtt, rttvar time.Duration) time.Duration {
	switch {
	case srtt <= 0:
		return InitialRTO
	case srtt >= MaxRTO || rttvar >= MaxRTO: // and srtt + 4·rttvar cannot overflow below
		return MaxRTO
	}
	return min(max(srtt+4*max(rttvar, 0), MinRTO), MaxRTO)
}

// RTO returns the retransmission timeout of the pair: RTO(ps.SRTT, ps.RTTVar)
// when ps holds an RTT sample, else InitialRTO.
func (ps PairStats) RTO() time.Duration {
	if ps.Samples == 0 {
		return InitialRTO
	}
	return RTO(ps.SRTT, ps.RTTVar)
}
