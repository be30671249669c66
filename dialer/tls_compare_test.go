package dialer_test

// DialTLSContext against tls.Dialer on the same inputs: the errors a program
// or net/http tells apart. Every dial goes to loopback only, with a Selector
// over a static loopback snapshot that neither probes nor asks real DNS.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
)

// silentTLSPeer returns the address of a loopback listener that accepts
// connections and never writes: a TLS handshake over them hangs.
func silentTLSPeer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(accepted)
		for c := range accepted {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestDialTLSSchemeMismatch: an https:// request to a plain HTTP server,
// through http.Transport.DialTLSContext, fails with http.ErrSchemeMismatch
// ("server gave HTTP response to HTTPS client") as with tls.Dialer: net/http
// recognizes the dialer's tls.RecordHeaderError by type assertion, so
// DialTLSContext must return it as it is.
func TestDialTLSSchemeMismatch(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	url := "https://" + srv.Listener.Addr().String() + "/"
	get := func(dial func(context.Context, string, string) (net.Conn, error)) error {
		tr := &http.Transport{DialTLSContext: dial}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	want := get((&tls.Dialer{NetDialer: &net.Dialer{}}).DialContext)
	if !errors.Is(want, http.ErrSchemeMismatch) {
		t.Fatalf("tls.Dialer: %v; the test expects http.ErrSchemeMismatch", want)
	}
	got := get((&dialer.PairDialer{Selector: newSelector(t)}).DialTLSContext)
	if !errors.Is(got, http.ErrSchemeMismatch) {
		t.Errorf("PairDialer.DialTLSContext: %v\nwant, as with tls.Dialer: %v", got, want)
	}
}

// TestDialTLSOneAttemptError: a TLS dial to a literal (one pair, one
// attempt) whose connect succeeds and whose handshake fails for another
// reason than the peer's TLS answer returns the handshake's own error, as
// tls.Dialer does (tls.RecordHeaderError, context.DeadlineExceeded,
// context.Canceled), not an AttemptsError of one attempt: programs compare
// it with == or by type.
func TestDialTLSOneAttemptError(t *testing.T) {
	sel := newSelector(t)
	plain := listen(t, "tcp4", "127.0.0.1:0").Addr().String() // echoes: not TLS
	silent := silentTLSPeer(t)
	httpSrv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer httpSrv.Close()
	for _, tc := range []struct {
		name, addr string
		timeout    time.Duration
		cancel     bool
	}{
		{name: "plain HTTP server", addr: httpSrv.Listener.Addr().String()},
		{name: "not TLS (echo)", addr: plain},
		{name: "handshake timeout", addr: silent, timeout: 200 * time.Millisecond},
		{name: "handshake canceled", addr: silent, cancel: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dial := func(f func(context.Context, string, string) (net.Conn, error)) error {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.cancel {
					time.AfterFunc(200*time.Millisecond, cancel)
				}
				c, err := f(ctx, "tcp", tc.addr)
				if c != nil {
					c.Close()
				}
				return err
			}
			want := dial((&tls.Dialer{NetDialer: &net.Dialer{Timeout: tc.timeout}}).DialContext)
			got := dial((&dialer.PairDialer{Timeout: tc.timeout, Selector: sel}).DialTLSContext)
			if want == nil || got == nil {
				t.Fatalf("tls.Dialer: %v, PairDialer: %v; want both to fail", want, got)
			}
			if fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) || got.Error() != want.Error() {
				t.Errorf("one attempt:\n\tPairDialer: %T %q\n\ttls.Dialer: %T %q", got, got, want, want)
			}
			if errors.Is(want, context.DeadlineExceeded) && got != context.DeadlineExceeded {
				t.Errorf("err == context.DeadlineExceeded holds for tls.Dialer's error, not for PairDialer's")
			}
		})
	}
}

// TestDialTLSMissingAddress: an empty address is net.Dialer's "missing
// address", for DialTLSContext as for DialContext.
func TestDialTLSMissingAddress(t *testing.T) {
	_, want := (&tls.Dialer{}).DialContext(t.Context(), "tcp", "")
	_, got := (&dialer.PairDialer{Selector: newSelector(t)}).DialTLSContext(t.Context(), "tcp", "")
	if want == nil || got == nil || got.Error() != want.Error() {
		t.Errorf("DialTLSContext(\"tcp\", \"\"): %v; tls.Dialer: %v", got, want)
	}
	// DialContext gets it right: the same text as net.Dialer.
	_, want = (&net.Dialer{}).DialContext(t.Context(), "tcp", "")
	_, got = (&dialer.PairDialer{Selector: newSelector(t)}).DialContext(t.Context(), "tcp", "")
	if want == nil || got == nil || got.Error() != want.Error() {
		t.Errorf("DialContext(\"tcp\", \"\"): %v; net.Dialer: %v", got, want)
	}
}
