//go:build lab

package main

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/internal/lab"
	"github.com/getapr/getapr/pairs"
)

func TestMain(m *testing.M) { os.Exit(lab.Main(m, lab.Options{})) }

// TestLabGRPC: a gRPC health check through PairDialer (grpc.WithContextDialer,
// as this program plugs it in), with uplink 0 blackholed.
func TestLabGRPC(t *testing.T) {
	l := lab.Current(t)
	ln, err := l.Listen("tcp", netip.AddrPortFrom(l.Server().Open6, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() { srv.Stop(); <-served }()
	if err := l.Blackhole(0, true); err != nil {
		t.Fatal(err)
	}

	sel, err := pairs.New(pairs.WithResolver(l.Resolver()), pairs.WithoutProbing())
	if err != nil {
		t.Fatal(err)
	}
	defer sel.Close()
	d := &dialer.PairDialer{Selector: sel}
	conn, err := grpc.NewClient("passthrough:///"+ln.Addr().String(),
		grpc.WithContextDialer(contextDialer(d)),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	t.Logf("health check %s: %v, %v in %v", ln.Addr(), resp.GetStatus(), err, time.Since(start).Round(100*time.Microsecond))
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health check: %v, %v", resp.GetStatus(), err)
	}
}
