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

// TestStdlibSnapshot checks the standard library's view of this host: a
// loopback link, and no address of a loopback link among Addrs.
func TestStdlibSnapshot(t *testing.T) {
	s, _, err := pollBackend{list: stdlibSnapshot}.dump()
	if err != nil {
		t.Skip("no interface list here:", err)
	}
	lo := 0
	for _, l := range s.Links {
		if l.Loopback {
			lo = l.Index
		}
	}
	if lo == 0 {
		t.Fatalf("no loopback link in %+v", s.Links)
	}
	for _, a := range s.Addrs {
		if a.Index == lo || a.IP.IsLoopback() {
			t.Errorf("loopback address %+v in Addrs", a)
		}
	}
}
