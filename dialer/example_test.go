package dialer_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"syscall"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
)

// loopbackOnly returns a Selector that knows only the host's loopback interface
// and does not probe, so that the examples send nothing beyond loopback.
// Programs use the zero PairDialer, which shares pairs.Default(), or a Selector
// from pairs.New().
func loopbackOnly() *pairs.Selector {
	sel, err := pairs.New(pairs.WithWatcher(netstate.NewStatic(loopbackSnapshot())), pairs.WithoutProbing())
	if err != nil {
		log.Fatal(err)
	}
	return sel
}

// A direct dial, as with net.Dialer.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			io.WriteString(c, "hello\n")
			c.Close()
		}
	}()

	sel := loopbackOnly()
	defer sel.Close()
	d := &dialer.PairDialer{Selector: sel, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(line)
	// Output: hello
}

// An http.Client whose connections are dialed over address pairs.
func ExamplePairDialer_DialContext_httpTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello over pairs")
	}))
	defer srv.Close()

	sel := loopbackOnly()
	defer sel.Close()
	d := &dialer.PairDialer{Selector: sel}
	transport := &http.Transport{DialContext: d.DialContext}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	resp, err := client.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, string(body))
	// Output: 200 OK hello over pairs
}

// When every attempt fails, the error lists them and unwraps to each one's
// cause. (A dial that made one attempt returns that attempt's error, as
// net.Dialer does.)
func ExampleAttemptsError() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now: the connects are refused

	// A name with two addresses: two attempts.
	dns, err := newFakeDNS(map[string][]netip.Addr{"both.example": {netip.IPv6Loopback(), netip.MustParseAddr("127.0.0.1")}})
	if err != nil {
		log.Fatal(err)
	}
	defer dns.Close()
	sel := loopbackOnly()
	defer sel.Close()
	d := &dialer.PairDialer{Selector: sel, Resolver: dns.Resolver()}
	_, err = d.Dial("tcp", net.JoinHostPort("both.example", port))

	var ae *dialer.AttemptsError
	if errors.As(err, &ae) {
		for _, a := range ae.Attempts {
			fmt.Println(a.Pair.Dst.Addr(), "refused:", errors.Is(a, syscall.ECONNREFUSED))
		}
	}
	fmt.Println("refused:", errors.Is(err, syscall.ECONNREFUSED), "timeout:", err.(net.Error).Timeout())
	// Output:
	// ::1 refused: true
	// 127.0.0.1 refused: true
	// refused: true timeout: false
}

// An http.Client whose TLS connections are raced over address pairs until
// the TLS handshake is done (Happy Eyeballs v3), with HTTP/2.
func ExamplePairDialer_DialTLSContext() {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello over %s", r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	sel := loopbackOnly()
	defer sel.Close()
	tlsConfig := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone() // trusts the test server
	tlsConfig.NextProtos = []string{"h2", "http/1.1"}
	d := &dialer.PairDialer{Selector: sel, TLSConfig: tlsConfig}
	transport := &http.Transport{DialTLSContext: d.DialTLSContext, ForceAttemptHTTP2: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	resp, err := client.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 hello over HTTP/2.0
}
