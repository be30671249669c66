package dialer

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getapr/getapr/pairs"
)

// AttemptError is one failed connect attempt: the pair it tried, how long it ran
// and why it failed.
type AttemptError struct {
	// Pair is the pair the attempt bound and connected.
	Pair pairs.Pair
	// Duration is how long the attempt ran, from its start to its failure.
	Duration time.Duration
	// Err is the attempt's error, usually a *net.OpError from the connect.
	Err error
}

// Error returns the pair, the time the attempt ran and why it failed, as in
// "192.0.2.10->198.51.100.1:443 via eth0 after 250ms: connect: connection refused".
func (e *AttemptError) Error() string {
	var b strings.Builder
	writePair(&b, e.Pair)
	b.WriteString(" after ")
	b.WriteString(roundDuration(e.Duration).String())
	b.WriteString(": ")
	b.WriteString(reason(e.Err))
	return b.String()
}

// Unwrap returns the attempt's error.
func (e *AttemptError) Unwrap() error { return e.Err }

// Timeout reports whether the attempt timed out.
func (e *AttemptError) Timeout() bool { return isTimeout(e.Err) }

// AttemptsError is the error of a dial whose attempts (more than one) all
// failed. It is the Err of the *net.OpError that PairDialer.DialContext
// returns then, and it unwraps to each attempt's error (and to Cause), so that
// errors.Is(err, syscall.ECONNREFUSED) or errors.Is(err,
// context.DeadlineExceeded) hold when an attempt failed so. It answers
// Timeout and Temporary as net.Dialer's errors do. (A dial that made one
// attempt returns that attempt's error itself, as net.Dialer does.)
type AttemptsError struct {
	// Attempts lists the attempts made, in racing order.
	Attempts []*AttemptError
	// Untried is the number of pairs never attempted because the dial's
	// context ended first.
	Untried int
	// Cause is the dial's context error (context.Canceled or
	// context.DeadlineExceeded) when the context ended before the dial did;
	// nil otherwise.
	Cause error
}

// maxListed is how many attempts AttemptsError.Error lists one by one: a dial
// to a name with hundreds of addresses would otherwise give an error of tens
// of kilobytes, logged whole at every failure.
const maxListed = 8

// maxReasons is how many different reasons the summary of the attempts not
// listed counts by name; the others are counted together.
const maxReasons = 3

// Error lists the attempts, separated by "; ", and says how many pairs were
// not tried and why. Past the first 8 attempts it lists none but counts the
// rest by reason, as in "and 492 more (490 connect: connection refused, 2 i/o
// timeout)"; Attempts has them all.
func (e *AttemptsError) Error() string {
	var b strings.Builder
	n := len(e.Attempts)
	switch n {
	case 0:
		b.WriteString("none of ")
		b.WriteString(strconv.Itoa(e.Untried))
		b.WriteString(" pairs tried")
	case 1:
		b.WriteString("1 attempt failed: ")
	default:
		b.WriteString(strconv.Itoa(n))
		b.WriteString(" attempts failed: ")
	}
	for i, a := range e.Attempts[:min(n, maxListed)] {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(a.Error())
	}
	if n > maxListed {
		writeSummary(&b, e.Attempts[maxListed:])
	}
	if n > 0 && e.Untried > 0 {
		b.WriteString("; ")
		b.WriteString(strconv.Itoa(e.Untried))
		b.WriteString(" more not tried")
	}
	if e.Cause != nil && (n == 0 || e.Untried > 0) {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

// writeSummary writes "; and N more (n1 reason1, n2 reason2, n3 other)" for
// attempts: the count of each of the maxReasons most frequent reasons (the
// earlier first among equals), then of the others.
func writeSummary(b *strings.Builder, attempts []*AttemptError) {
	type count struct {
		reason string
		n      int
	}
	var counts []count
	index := make(map[string]int)
	for _, a := range attempts {
		r := reason(a.Err)
		i, ok := index[r]
		if !ok {
			i = len(counts)
			index[r] = i
			counts = append(counts, count{reason: r})
		}
		counts[i].n++
	}
	slices.SortStableFunc(counts, func(x, y count) int { return y.n - x.n })
	b.WriteString("; and ")
	b.WriteString(strconv.Itoa(len(attempts)))
	b.WriteString(" more (")
	other := 0
	for i, c := range counts {
		if i >= maxReasons {
			other += c.n
			continue
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(c.n))
		b.WriteByte(' ')
		b.WriteString(c.reason)
	}
	if other > 0 {
		b.WriteString(", ")
		b.WriteString(strconv.Itoa(other))
		b.WriteString(" other")
	}
	b.WriteByte(')')
}

// Unwrap returns the attempts' errors, in racing order, then Cause if set.
func (e *AttemptsError) Unwrap() []error {
	errs := make([]error, 0, len(e.Attempts)+1)
	for _, a := range e.Attempts {
		errs = append(errs, a)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// Timeout reports whether the dial ran into its deadline: Cause or an attempt
// (perhaps with its share of the time in serial mode) timed out.
func (e *AttemptsError) Timeout() bool {
	if isTimeout(e.Cause) {
		return true
	}
	for _, a := range e.Attempts {
		if a.Timeout() {
			return true
		}
	}
	return false
}

// Temporary reports whether the dial's failure is temporary as net.Dialer's
// errors answer it, for callers that still read it (grpc-go's isTemporary):
// a dial that timed out is (see Timeout), and otherwise the first attempt's
// error decides, as net.Dialer returns the error of its first address.
func (e *AttemptsError) Temporary() bool {
	if e.Timeout() {
		return true
	}
	if len(e.Attempts) == 0 {
		return false
	}
	var t interface{ Temporary() bool }
	return errors.As(e.Attempts[0].Err, &t) && t.Temporary()
}

// roundDuration rounds d for reading: to the millisecond from 10 ms up, to the
// microsecond below.
func roundDuration(d time.Duration) time.Duration {
	if d >= 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

// writePair writes "src->dst via ifname" with the source's port only when set.
func writePair(b *strings.Builder, p pairs.Pair) {
	if p.Src.Port() == 0 {
		b.WriteString(p.Src.Addr().String())
	} else {
		b.WriteString(p.Src.String())
	}
	b.WriteString("->")
	b.WriteString(p.Dst.String())
	if p.Interface != "" {
		b.WriteString(" via ")
		b.WriteString(p.Interface)
	}
}

// reason returns why err happened without the "dial tcp4 a->b:" prefix that a
// *net.OpError would repeat.
func reason(err error) string {
	if err == nil {
		return "<nil>"
	}
	if oe, ok := err.(*net.OpError); ok && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// isTimeout reports whether err, or an error it wraps, is a net.Error timeout.
func isTimeout(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// givenUpError is the error of an attempt that the race gave up, unanswered
// after minGiveUpAge at least, to make room for a later attempt (see
// maxInFlight). It is a timeout, as net.Dialer's error is for an address whose
// share of the time ran out; it does not unwrap to the context.Canceled that
// ended the connect: the caller canceled nothing.
type givenUpError struct{}

func (givenUpError) Error() string   { return "given up to make room for later attempts" }
func (givenUpError) Timeout() bool   { return true }
func (givenUpError) Temporary() bool { return true }

// withGivenUp returns the error of an attempt given up whose connect (or
// handshake) failed with err, canceled: a givenUpError, inside err's
// *net.OpError if it is one, which keeps its Op, Net, Source and Addr.
func withGivenUp(err error) error {
	if oe, ok := err.(*net.OpError); ok {
		c := *oe
		c.Err = givenUpError{}
		return &c
	}
	return givenUpError{}
}

// noNAT64Error is the error of a connect to an IPv4 destination that the host
// has neither an IPv4 route nor a NAT64 prefix (PREF64) for: the kernel's
// error (ENETUNREACH, usually), and why no other path was tried.
type noNAT64Error struct{ err error }

func (e *noNAT64Error) Error() string {
	return e.err.Error() + " (no IPv4 route, and no NAT64 prefix (PREF64) to reach it over IPv6)"
}

// Unwrap returns the connect's own error, so that errors.Is(err,
// syscall.ENETUNREACH) and errors.As for *os.SyscallError hold as for
// net.Dialer's.
func (e *noNAT64Error) Unwrap() error { return e.err }

// withNoNAT64 adds to err, a failed connect's error, that neither an IPv4
// route nor a NAT64 prefix was there: inside its *net.OpError, which keeps its
// Op, Net, Source and Addr.
func withNoNAT64(err error) error {
	if oe, ok := err.(*net.OpError); ok && oe.Err != nil {
		c := *oe
		c.Err = &noNAT64Error{oe.Err}
		return &c
	}
	return &noNAT64Error{err}
}
