package lab

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCtlRoundTrip(t *testing.T) {
	dir := t.TempDir()
	got := make(chan request, 1)
	srv, err := listenCtl(dir, func(_ context.Context, r request) response {
		got <- r
		if r.Op == opInfo {
			return response{Facts: &facts{Name: "unit"}}
		}
		return response{Error: "no such thing"}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	path := filepath.Join(dir, "ctl.sock")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v, %v", fi, err)
	}
	req := request{Op: opAddAddr, Uplink: 1, Prefix: netip.MustParsePrefix("2001:db8:b:1::9/64"), RTT: 5 * time.Millisecond}
	resp, err := callCtl(context.Background(), path, req)
	if err != nil {
		t.Fatal(err)
	}
	if r := <-got; r != req {
		t.Errorf("server got %+v; want %+v", r, req)
	}
	if resp.err() == nil || resp.err().Error() != "no such thing" {
		t.Errorf("error %v; want the server's", resp.err())
	}
	resp, err = callCtl(context.Background(), path, request{Op: opInfo})
	if err != nil || resp.Facts == nil || resp.Facts.Name != "unit" || resp.err() != nil {
		t.Errorf("info: %+v, %v", resp, err)
	}
	<-got
}

func TestCtlNoServer(t *testing.T) {
	if _, err := callCtl(context.Background(), filepath.Join(t.TempDir(), "ctl.sock"), request{Op: opInfo}); err == nil {
		t.Error("call without a server succeeded")
	}
}
