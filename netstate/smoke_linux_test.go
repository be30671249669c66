package netstate

import (
	"context"
	"net/netip"
	"testing"
)

func TestSmoke(t *testing.T) {
	l := newLab(t)
	l.in(l.host, "addr", "add", "192.0.2.10/24", "dev", "v0")
	l.in(l.host, "route", "add", "default", "via", "192.0.2.1")
	m, err := New(WithNetNS(l.fd))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Snapshot()
	t.Logf("%+v", s)
	d, err := m.RouteFor(context.Background(), netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("8.8.8.8"))
	t.Logf("%+v %v", d, err)
}
