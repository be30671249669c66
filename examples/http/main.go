// Command http fetches a URL with an http.Client whose Transport dials through
// dialer.PairDialer, and says which source address the connection used.
//
// Usage:
//
//	cd examples && go run ./http [-timeout 30s] [-noprobe] [-v] URL
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/pairs"
)

func main() {
	timeout := flag.Duration("timeout", 30*time.Second, "request timeout")
	noprobe := flag.Bool("noprobe", false, "do not probe in the background (no traffic but the request's own)")
	verbose := flag.Bool("v", false, "log every connect attempt")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] URL\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *timeout, *noprobe, *verbose); err != nil {
		log.Fatal(err)
	}
}

func run(url string, timeout time.Duration, noprobe, verbose bool) error {
	logger := zap.NewNop()
	if verbose {
		var err error
		if logger, err = zap.NewDevelopment(); err != nil {
			return err
		}
	}
	opts := []pairs.Option{pairs.WithLogger(logger)}
	if noprobe {
		opts = append(opts, pairs.WithoutProbing())
	}
	sel, err := pairs.New(opts...)
	if err != nil {
		return err
	}
	defer sel.Close()
	d := &dialer.PairDialer{Selector: sel, Logger: logger}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         d.DialContext,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: timeout}
	var local net.Addr
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { local = info.Conn.LocalAddr() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d bytes from %v in %v\n", resp.Status, n, local, time.Since(start).Round(time.Millisecond))
	return nil
}
