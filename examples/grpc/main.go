// Command grpc calls the standard gRPC health service (grpc.health.v1.Health)
// of a server through a connection dialed by dialer.PairDialer, plugged into
// gRPC with grpc.WithContextDialer.
//
// The target is given as "passthrough:///host:port" so that gRPC hands the name
// to the dialer instead of resolving it itself: PairDialer resolves it and
// races the (source, destination) pairs of every address.
//
// Usage:
//
//	cd examples && go run ./grpc [-service NAME] [-timeout 10s] [-noprobe] [-v] host:port
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/pairs"
)

func main() {
	service := flag.String("service", "", `service to check ("": the server as a whole)`)
	timeout := flag.Duration("timeout", 10*time.Second, "call timeout")
	noprobe := flag.Bool("noprobe", false, "do not probe in the background (no traffic but the call's own)")
	verbose := flag.Bool("v", false, "log every connect attempt")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: %s [flags] host:port\n", os.Args[0])
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *service, *timeout, *noprobe, *verbose); err != nil {
		log.Fatal(err)
	}
}

func run(target, service string, timeout time.Duration, noprobe, verbose bool) error {
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
	conn, err := grpc.NewClient("passthrough:///"+target,
		grpc.WithContextDialer(contextDialer(d)),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		return err
	}
	fmt.Printf("%s: %v in %v\n", target, resp.GetStatus(), time.Since(start).Round(time.Millisecond))
	return nil
}

// contextDialer adapts d to the function grpc.WithContextDialer takes.
func contextDialer(d *dialer.PairDialer) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", addr)
	}
}
