package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
)

// A gRPC client connection dialed over address pairs. The passthrough scheme
// hands "host:port" to the dialer as it is: PairDialer resolves the name.
//
// The Selector here knows only the loopback interface and does not probe, so
// that the example sends nothing beyond loopback; programs use the zero
// PairDialer, which shares pairs.Default(), or a Selector from pairs.New().
func Example_healthCheck() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() { srv.Stop(); <-served }()

	loopback := &netstate.Snapshot{Links: []netstate.Link{
		{Index: 1, Name: "lo", Up: true, Running: true, Loopback: true, MTU: 65536},
	}}
	sel, err := pairs.New(pairs.WithWatcher(netstate.NewStatic(loopback)), pairs.WithoutProbing())
	if err != nil {
		log.Fatal(err)
	}
	defer sel.Close()
	d := &dialer.PairDialer{Selector: sel}
	conn, err := grpc.NewClient("passthrough:///"+ln.Addr().String(),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.GetStatus())
	// Output: SERVING
}
