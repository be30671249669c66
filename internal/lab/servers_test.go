package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPeerEcho(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := serveConns(ln, echoPeer)
	defer s.Close()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := ReadPeer(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := addrPortOf(c.LocalAddr()); got != want {
		t.Errorf("ReadPeer = %v; want %v", got, want)
	}
	// The server holds the connection open until the client closes it.
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.Read(make([]byte, 1)); !isTimeout(err) {
		t.Errorf("read after the greeting: %v; want a timeout", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

func TestConnServerCloseEndsConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	s := serveConns(ln, func(ctx context.Context, c net.Conn) {
		close(started)
		<-ctx.Done()
	})
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-started
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Close")
	}
	if _, err := net.Dial("tcp", s.Addr().String()); err == nil {
		t.Error("still accepting after Close")
	}
}

func TestReadPeer(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    netip.AddrPort
		wantErr bool
		rest    string
	}{
		{"[2001:db8:a:1::100]:4711\nmore", netip.MustParseAddrPort("[2001:db8:a:1::100]:4711"), false, "more"},
		{"198.51.100.1:80\n", netip.MustParseAddrPort("198.51.100.1:80"), false, ""},
		{"198.51.100.1:80", netip.AddrPort{}, true, ""},
		{"nonsense\n", netip.AddrPort{}, true, ""},
		{strings.Repeat("1", 100) + "\n", netip.AddrPort{}, true, ""},
	} {
		t.Run(fmt.Sprintf("%.20q", tc.in), func(t *testing.T) {
			r := strings.NewReader(tc.in)
			got, err := ReadPeer(r)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("ReadPeer = %v, %v; want %v (error: %v)", got, err, tc.want, tc.wantErr)
			}
			if rest, _ := io.ReadAll(r); !tc.wantErr && string(rest) != tc.rest {
				t.Errorf("left %q; want %q", rest, tc.rest)
			}
		})
	}
}
