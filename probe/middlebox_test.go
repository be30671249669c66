package probe_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/probe"
)

func TestTLSResultOf(t *testing.T) {
	opErr := func(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }
	for _, tc := range []struct {
		name string
		err  error
		want probe.Result
	}{
		{"done", nil, probe.TLSSuccess},
		{"canceled", fmt.Errorf("handshake: %w", context.Canceled), probe.Canceled},
		{"deadline", context.DeadlineExceeded, probe.Middlebox},
		{"read timeout", opErr("read", os.ErrDeadlineExceeded), probe.Middlebox},
		{"eof", io.EOF, probe.Middlebox},
		{"reset", opErr("read", &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}), probe.Middlebox},
		{"broken pipe", opErr("write", syscall.EPIPE), probe.Middlebox},
		{"not tls", tls.RecordHeaderError{Msg: "tls: first record does not look like a TLS handshake"}, probe.Middlebox},
		{"certificate", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, probe.OtherError},
		{"ech rejected", &tls.ECHRejectionError{}, probe.OtherError},
		{"alert sent", fmt.Errorf("tls: bad certificate: %w", tls.AlertError(42)), probe.OtherError},
		{"alert received", opErr("remote error", errors.New("tls: handshake failure")), probe.OtherError},
		{"local", errors.New("tls: malformed ECHConfigList"), probe.OtherError},
	} {
		if got := probe.TLSResultOf(tc.err); got != tc.want {
			t.Errorf("%s: TLSResultOf(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// selfSigned returns a certificate for name, signed by itself.
func selfSigned(t *testing.T, name string) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// TestTLSResultOfHandshakes classifies what crypto/tls really returns against
// servers on loopback: a TLS server the client does not trust, a middlebox
// that resets after the ClientHello, one that answers in plain text, and one
// that never answers.
func TestTLSResultOfHandshakes(t *testing.T) {
	cert := selfSigned(t, "svc.example")
	for _, tc := range []struct {
		name  string
		serve func(c net.Conn)
		want  probe.Result
	}{
		{"untrusted certificate", func(c net.Conn) {
			_ = tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
		}, probe.OtherError},
		{"reset after hello", func(c net.Conn) {
			buf := make([]byte, 512)
			_, _ = c.Read(buf)
			_ = c.(*net.TCPConn).SetLinger(0)
		}, probe.Middlebox},
		{"plain text", func(c net.Conn) {
			buf := make([]byte, 512)
			_, _ = c.Read(buf)
			_, _ = io.WriteString(c, "HTTP/1.1 302 Found\r\nLocation: http://portal.example/\r\n\r\n")
		}, probe.Middlebox},
		{"silent", func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }, probe.Middlebox},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				tc.serve(c)
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			err = tls.Client(c, &tls.Config{ServerName: "svc.example"}).HandshakeContext(ctx)
			c.Close()
			<-done
			if got := probe.TLSResultOf(err); got != tc.want {
				t.Errorf("handshake error %v: TLSResultOf = %v, want %v", err, got, tc.want)
			}
		})
	}
}

func TestTLSOverdue(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		connect, waited time.Duration
		want            bool
	}{
		{20 * ms, 230 * ms, true},  // the lab's silent middlebox on a 20 ms uplink, B winning
		{20 * ms, 150 * ms, false}, // not three round trips and 100 ms yet
		{60 * ms, 280 * ms, true},  // exactly 3·60 + 100
		{60 * ms, 279 * ms, false},
		{0, 100 * ms, true},
	} {
		if got := probe.TLSOverdue(tc.connect, tc.waited); got != tc.want {
			t.Errorf("TLSOverdue(%v, %v) = %v, want %v", tc.connect, tc.waited, got, tc.want)
		}
	}
}

func TestMiddleboxVerdict(t *testing.T) {
	const src, dst, other = "2001:db8:a::100", "2001:db8:5::10", "2001:db8:b::100"
	s := probe.NewStore()
	s.Report(outcome(src, dst, probe.Success, 20*time.Millisecond, t0))
	s.Report(outcome(other, dst, probe.Success, 60*time.Millisecond, t0))
	before, _ := s.Pair(addr(src), addr(dst))
	s.Report(outcome(src, dst, probe.Middlebox, 230*time.Millisecond, t0.Add(time.Millisecond)))
	ps, _ := s.Pair(addr(src), addr(dst))
	end := t0.Add(231 * time.Millisecond)
	if !ps.Intercepted(end) || !ps.LastMiddlebox.Equal(end) {
		t.Fatalf("after a middlebox outcome: %+v, Intercepted %v", ps, ps.Intercepted(end))
	}
	if ps.SRTT != before.SRTT || ps.Successes != before.Successes || ps.Failures != before.Failures {
		t.Errorf("a TLS outcome changed the TCP statistics: %+v -> %+v", before, ps)
	}
	wantHealth(t, s, src, probe.Alive)
	if ps.Intercepted(end.Add(probe.MiddleboxHold)) {
		t.Error("verdict still holds after MiddleboxHold")
	}
	if o, _ := s.Pair(addr(other), addr(dst)); o.Intercepted(end) {
		t.Error("the other source's pair is intercepted too")
	}

	// The status lists the pair while the verdict holds (Status uses the
	// wall clock, so this part reports with the current time).
	now := time.Now()
	s2 := probe.NewStore()
	s2.Report(outcome(src, dst, probe.Middlebox, time.Millisecond, now))
	if ms := s2.Status().Middleboxes; len(ms) != 1 || ms[0].Src != addr(src) || ms[0].Dst != addr(dst) {
		t.Errorf("Status().Middleboxes = %+v", ms)
	}
	s2.Report(outcome(src, dst, probe.TLSSuccess, time.Millisecond, now.Add(time.Second)))
	if ms := s2.Status().Middleboxes; len(ms) != 0 {
		t.Errorf("after a TLS handshake that completed: Status().Middleboxes = %+v", ms)
	}
	if ps, _ := s2.Pair(addr(src), addr(dst)); ps.Intercepted(now.Add(2*time.Second)) || ps.LastTLS.IsZero() {
		t.Errorf("after TLS success: %+v", ps)
	}

	// Canceled TLS and other errors are not evidence.
	s3 := probe.NewStore()
	s3.Report(outcome(src, dst, probe.Canceled, time.Millisecond, t0))
	s3.Report(outcome(src, dst, probe.OtherError, time.Millisecond, t0))
	if _, ok := s3.Pair(addr(src), addr(dst)); ok {
		t.Error("canceled or failed-verification TLS created a pair")
	}
}

func TestResultTLS(t *testing.T) {
	for r := probe.Success; r <= probe.TLSSuccess; r++ {
		tlsResult := r == probe.Middlebox || r == probe.TLSSuccess
		if r.TLS() != tlsResult || (tlsResult && (r.Conclusive() || r.PathWorks())) {
			t.Errorf("%v: TLS %v, Conclusive %v, PathWorks %v", r, r.TLS(), r.Conclusive(), r.PathWorks())
		}
	}
	if probe.Middlebox.String() != "middlebox" || probe.TLSSuccess.String() != "tls" {
		t.Errorf("names %q %q", probe.Middlebox, probe.TLSSuccess)
	}
}

// TestStatusMiddleboxesSorted: Status lists the intercepted pairs by source,
// then destination, whatever the order of the Store's maps.
func TestStatusMiddleboxesSorted(t *testing.T) {
	s, now := probe.NewStore(), time.Now() // Status judges at the time of day
	srcs := []string{"2001:db8:c::100", "2001:db8:a::100", "2001:db8:b::100"}
	dsts := []string{"2001:db8:5::30", "2001:db8:5::10", "2001:db8:5::20"}
	for _, src := range srcs {
		for _, dst := range dsts {
			s.Report(outcome(src, dst, probe.Success, time.Millisecond, now))
			s.Report(outcome(src, dst, probe.Middlebox, time.Millisecond, now))
		}
	}
	ms := s.Status().Middleboxes
	if len(ms) != len(srcs)*len(dsts) {
		t.Fatalf("%d middleboxes, want %d: %+v", len(ms), len(srcs)*len(dsts), ms)
	}
	if !slices.IsSortedFunc(ms, func(a, b probe.MiddleboxStatus) int {
		if c := a.Src.Compare(b.Src); c != 0 {
			return c
		}
		return a.Dst.Compare(b.Dst)
	}) {
		t.Errorf("Status().Middleboxes not by source, then destination: %+v", ms)
	}
}
