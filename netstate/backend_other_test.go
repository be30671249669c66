//go:build !linux

package netstate

import (
	"net"
	"net/netip"
	"testing"
)

func TestAddrOfNet(t *testing.T) {
	l := Link{Index: 4, Name: "en0"}
	tests := []struct {
		in   net.Addr
		want Addr
		ok   bool
	}{
		{&net.IPNet{IP: net.ParseIP("192.0.2.7"), Mask: net.CIDRMask(24, 32)},
			Addr{IP: netip.MustParseAddr("192.0.2.7"), Bits: 24}, true},
		{&net.IPNet{IP: net.ParseIP("fe80::1"), Mask: net.CIDRMask(64, 128)},
			Addr{IP: netip.MustParseAddr("fe80::1%en0"), Bits: 64}, true},
		{&net.IPAddr{IP: net.ParseIP("192.0.2.7")}, Addr{}, false},
	}
	for _, tt := range tests {
		got, ok := addrOfNet(tt.in, l)
		if tt.ok {
			tt.want.Index, tt.want.Interface = 4, "en0"
			tt.want.PreferredLifetime, tt.want.ValidLifetime = Forever, Forever
		}
		if ok != tt.ok || got != tt.want {
			t.Errorf("addrOfNet(%v) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestOtherMonitor(t *testing.T) {
	if _, err := New(WithNetNS(3)); err == nil {
		t.Error("WithNetNS accepted off Linux")
	}
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if s := m.Snapshot(); s.Generation != 1 || len(s.Links) == 0 {
		t.Errorf("Snapshot() = %+v", s)
	}
}
