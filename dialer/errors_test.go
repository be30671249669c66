package dialer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/pairs"
)

func TestAttemptErrorString(t *testing.T) {
	p := pairs.Pair{
		Src:       netip.MustParseAddrPort("[fe80::1%eth0]:0"),
		Dst:       netip.MustParseAddrPort("[fe80::2%eth0]:22"),
		Interface: "eth0",
	}
	refused := &net.OpError{Op: "dial", Net: "tcp6", Err: errRefused}
	tests := []struct {
		name string
		e    *AttemptError
		want string
	}{
		{"link-local, rounded to ms", &AttemptError{Pair: p, Duration: 2000323335, Err: refused},
			"fe80::1%eth0->[fe80::2%eth0]:22 via eth0 after 2s: connect: connection refused"},
		{"fast, rounded to µs", &AttemptError{Pair: p, Duration: 102071 * time.Nanosecond, Err: refused},
			"fe80::1%eth0->[fe80::2%eth0]:22 via eth0 after 102µs: connect: connection refused"},
		{"fixed source port, no interface, plain error",
			&AttemptError{Pair: pairs.Pair{Src: netip.MustParseAddrPort("192.0.2.1:5000"), Dst: netip.MustParseAddrPort("198.51.100.1:80")},
				Duration: 15 * time.Millisecond, Err: context.DeadlineExceeded},
			"192.0.2.1:5000->198.51.100.1:80 after 15ms: context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.e.Error(); got != tt.want {
				t.Errorf("Error()\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAttemptsErrorUnwrap(t *testing.T) {
	e := &AttemptsError{
		Attempts: []*AttemptError{
			{Err: &net.OpError{Op: "dial", Err: errRefused}},
			{Err: &net.OpError{Op: "dial", Err: errUnreachable}},
		},
		Untried: 1,
		Cause:   context.Canceled,
	}
	for _, target := range []error{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, context.Canceled} {
		if !errors.Is(e, target) {
			t.Errorf("errors.Is(e, %v) = false", target)
		}
	}
	if errors.Is(e, syscall.ETIMEDOUT) || e.Timeout() {
		t.Error("a refusal, an unreachable and a cancellation count as a timeout")
	}
	var ae *AttemptError
	if !errors.As(e, &ae) || ae != e.Attempts[0] {
		t.Errorf("errors.As found %v, want the first attempt", ae)
	}
	if got := len(e.Unwrap()); got != 3 {
		t.Errorf("Unwrap returned %d errors, want 3", got)
	}
}

// TestAttemptsErrorTemporary checks Temporary against what net.Dialer's errors
// answer: a timeout is temporary, a refusal not; otherwise the first attempt's
// error decides, as net.Dialer returns its first address's error.
func TestAttemptsErrorTemporary(t *testing.T) {
	timeout := &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}
	etimedout := &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ETIMEDOUT)}
	refused := &net.OpError{Op: "dial", Err: errRefused}
	tests := []struct {
		name  string
		e     *AttemptsError
		want  bool
		model error // net.Dialer's error for the same case, which must agree
	}{
		{"refused", &AttemptsError{Attempts: []*AttemptError{{Err: refused}, {Err: refused}}}, false, refused},
		{"deadline", &AttemptsError{Attempts: []*AttemptError{{Err: refused}}, Untried: 1, Cause: context.DeadlineExceeded}, true, timeout},
		{"an attempt timed out", &AttemptsError{Attempts: []*AttemptError{{Err: refused}, {Err: timeout}}}, true, timeout},
		{"first ETIMEDOUT", &AttemptsError{Attempts: []*AttemptError{{Err: etimedout}, {Err: refused}}}, true, etimedout},
		{"canceled", &AttemptsError{Cause: context.Canceled, Untried: 2}, false, &net.OpError{Op: "dial", Err: errors.New("operation was canceled")}},
	}
	for _, tt := range tests {
		if got := tt.e.Temporary(); got != tt.want {
			t.Errorf("%s: Temporary() = %v, want %v", tt.name, got, tt.want)
		}
		//lint:ignore SA1019 what grpc-go reads is what is checked
		if model := tt.model.(net.Error).Temporary(); model != tt.want {
			t.Errorf("%s: net.Dialer's error says %v, the test wants %v", tt.name, model, tt.want)
		}
		oe := &net.OpError{Op: "dial", Err: tt.e}
		if oe.Temporary() != tt.want {
			t.Errorf("%s: the OpError around it says Temporary() = %v", tt.name, oe.Temporary())
		}
	}
}

// TestAttemptsErrorTextBounded checks that the text of a dial's error stays
// short however many attempts it made: the first maxListed attempts listed,
// the others counted by reason, while Attempts and Unwrap keep them all.
func TestAttemptsErrorTextBounded(t *testing.T) {
	const n = 500
	ps := manyPairs(n)
	timeout := &net.OpError{Op: "dial", Err: os.ErrDeadlineExceeded}
	attempts := func(n int, errs func(i int) error) []*AttemptError {
		as := make([]*AttemptError, n)
		for i := range as {
			as[i] = &AttemptError{Pair: ps[i], Duration: time.Millisecond, Err: errs(i)}
		}
		return as
	}
	refused := func(i int) error {
		if i%50 == 49 {
			return timeout
		}
		return &net.OpError{Op: "dial", Err: errRefused}
	}
	const first = "192.0.2.1->198.51.0.0:80 after 1ms: connect: connection refused; " +
		"192.0.2.1->198.51.0.1:80 after 1ms: connect: connection refused; "
	const eighth = "192.0.2.1->198.51.0.7:80 after 1ms: connect: connection refused"
	tests := []struct {
		name     string
		e        *AttemptsError
		prefix   string
		suffix   string
		maxBytes int
	}{
		{"8 attempts, all listed", &AttemptsError{Attempts: attempts(8, refused)},
			"8 attempts failed: " + first, eighth, 8 * 80},
		{"9 attempts", &AttemptsError{Attempts: attempts(9, refused)},
			"9 attempts failed: " + first, eighth + "; and 1 more (1 connect: connection refused)", 9 * 80},
		{"500 attempts, 2 reasons", &AttemptsError{Attempts: attempts(n, refused), Untried: 3, Cause: context.DeadlineExceeded},
			"500 attempts failed: " + first,
			eighth + "; and 492 more (482 connect: connection refused, 10 i/o timeout); 3 more not tried: context deadline exceeded",
			4 << 10},
		{"500 attempts, 500 reasons", &AttemptsError{Attempts: attempts(n, func(i int) error { return fmt.Errorf("reason %d", i) })},
			"500 attempts failed: 192.0.2.1->198.51.0.0:80 after 1ms: reason 0; ",
			"192.0.2.1->198.51.0.7:80 after 1ms: reason 7; and 492 more (1 reason 8, 1 reason 9, 1 reason 10, 489 other)",
			4 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.e.Error()
			t.Logf("%d attempts: error text of %d bytes", len(tt.e.Attempts), len(got))
			if !strings.HasPrefix(got, tt.prefix) || !strings.HasSuffix(got, tt.suffix) || len(got) > tt.maxBytes {
				t.Errorf("Error() = %s\nwant it to start with %q, end with %q, and be %d bytes at most", got, tt.prefix, tt.suffix, tt.maxBytes)
			}
			if got := len(tt.e.Unwrap()); got < len(tt.e.Attempts) {
				t.Errorf("Unwrap returned %d errors, want %d at least", got, len(tt.e.Attempts))
			}
		})
	}
}
