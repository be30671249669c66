// Command dial connects to one address with dialer.PairDialer and says which
// (source, destination) pair won and how long the dial took; when every attempt
// fails it prints each one.
//
// Usage:
//
//	cd examples && go run ./dial [-network tcp] [-timeout 10s] [-delay 0] [-noprobe] [-pairs] [-v] host:port
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/pairs"
)

func main() {
	network := flag.String("network", "tcp", `network: "tcp", "tcp4", "tcp6", "udp", ...`)
	timeout := flag.Duration("timeout", 10*time.Second, "dial timeout")
	delay := flag.Duration("delay", 0, "attempt delay (0: adaptive, negative: serial)")
	noprobe := flag.Bool("noprobe", false, "do not probe in the background (no traffic but the dial's own)")
	showPairs := flag.Bool("pairs", false, "print the pairs in racing order before dialing")
	verbose := flag.Bool("v", false, "log every attempt")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] host:port\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*network, flag.Arg(0), *timeout, *delay, *noprobe, *showPairs, *verbose); err != nil {
		log.Fatal(err)
	}
}

func run(network, address string, timeout, delay time.Duration, noprobe, showPairs, verbose bool) error {
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
	d := &dialer.PairDialer{Timeout: timeout, AttemptDelay: delay, Selector: sel, Logger: logger}
	ctx := context.Background()
	if showPairs {
		if err := printPairs(ctx, sel, network, address); err != nil {
			return err
		}
	}
	start := time.Now()
	c, err := d.DialContext(ctx, network, address)
	elapsed := time.Since(start)
	if err != nil {
		printAttempts(err)
		return fmt.Errorf("after %v: %w", elapsed.Round(time.Microsecond), err)
	}
	defer c.Close()
	fmt.Printf("connected %v -> %v in %v\n", c.LocalAddr(), c.RemoteAddr(), elapsed.Round(time.Microsecond))
	return nil
}

// printPairs prints the pairs the dial will race, in order.
func printPairs(ctx context.Context, sel *pairs.Selector, network, address string) error {
	host, port, err := splitPort(ctx, network, address)
	if err != nil {
		return err
	}
	ps, err := sel.Attempts(ctx, pairs.Query{Network: network, Host: host, Port: port})
	if err != nil {
		return err
	}
	for i, p := range ps {
		fmt.Printf("%2d. %v -> %v via %s, %v (%v): %s\n", i+1, p.Src.Addr(), p.Dst, p.Interface, p.Latency, p.Basis, p.Reason)
	}
	return nil
}

// printAttempts prints every attempt of a failed dial, one a line.
func printAttempts(err error) {
	var ae *dialer.AttemptsError
	if !errors.As(err, &ae) {
		return
	}
	for _, a := range ae.Attempts {
		fmt.Println("  ", a)
	}
}

// splitPort splits "host:port" and looks the port up as net.Dial does.
func splitPort(ctx context.Context, network, address string) (string, uint16, error) {
	host, service, err := net.SplitHostPort(address)
	if err != nil {
		return "", 0, err
	}
	port, err := net.DefaultResolver.LookupPort(ctx, network, service)
	if err != nil {
		return "", 0, err
	}
	return host, uint16(port), nil
}
