package lab

import (
	"context"
	"io"
	"net"
	"time"
)

// MiddleboxMode is how the TCP-terminating middlebox at an ISP treats the
// connections it intercepts (see Lab.Middlebox): the TCP handshake to any
// destination's TLS port (443) completes with the middlebox, as on a captive
// portal, a broken transparent proxy or hotel Wi-Fi, and the TLS handshake
// then fails.
type MiddleboxMode uint8

// The middlebox modes.
const (
	// MiddleboxOff intercepts nothing (the default).
	MiddleboxOff MiddleboxMode = iota
	// MiddleboxSilent accepts the connection, reads what the client sends and
	// never answers: the ClientHello goes unanswered until the client gives up.
	MiddleboxSilent
	// MiddleboxReset accepts the connection, reads the ClientHello and then
	// resets the connection (RST).
	MiddleboxReset
)

var middleboxNames = [...]string{"off", "silent", "reset"}

func (m MiddleboxMode) String() string {
	if int(m) < len(middleboxNames) {
		return middleboxNames[m]
	}
	return "middlebox(?)"
}

// The middlebox's listeners on each ISP router, one per mode; the redirect
// rule (middleboxRules) picks one.
const (
	middleboxSilentPort = 4443
	middleboxResetPort  = 4444
)

var middleboxPorts = map[MiddleboxMode]uint16{MiddleboxSilent: middleboxSilentPort, MiddleboxReset: middleboxResetPort}

// middleboxHandler returns the connection handler of mode m.
func middleboxHandler(m MiddleboxMode) func(ctx context.Context, c net.Conn) {
	if m == MiddleboxReset {
		return resetAfterHello
	}
	return swallow
}

// swallow reads and discards everything until the client closes the
// connection (or the server closes).
func swallow(_ context.Context, c net.Conn) { _, _ = io.Copy(io.Discard, c) }

// resetAfterHello reads the first TLS record (the ClientHello: a five-byte
// header and its length), or whatever arrives within a second, then closes
// the connection with SO_LINGER 0, which sends RST.
func resetAfterHello(_ context.Context, c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	var hdr [5]byte
	if _, err := io.ReadFull(c, hdr[:]); err == nil {
		n := int(hdr[3])<<8 | int(hdr[4])
		_, _ = io.CopyN(io.Discard, c, int64(n))
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}
