package netstate

import (
	"net/netip"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseIfInet6(t *testing.T) {
	in := "20010db8000a00000000000000000010 02 40 00 80       v0\n" +
		"fe800000000000000000000000000010 02 40 20 80       v0\n" +
		"fd000000000000000000000000000002 04 40 00 e0     eth0\n" + // tentative, deprecated, permanent
		"20010db8000b000000000000000000ff 05 40 00 09   wlan0\n" + // temporary, DAD failed
		"00000000000000000000000000000001 01 80 10 80       lo\n" +
		"not a line\n" +
		"20010db8000a00000000000000000011 00 40 00 80       v0\n" // index 0
	got := parseIfInet6([]byte(in))
	want := []Addr{
		{IP: netip.MustParseAddr("2001:db8:a::10"), Bits: 64, Index: 2, Interface: "v0"},
		{IP: netip.MustParseAddr("fe80::10%2"), Bits: 64, Index: 2, Interface: "v0"},
		{IP: netip.MustParseAddr("fd00::2"), Bits: 64, Index: 4, Interface: "eth0", Flags: Tentative | Deprecated},
		{IP: netip.MustParseAddr("2001:db8:b::ff"), Bits: 64, Index: 5, Interface: "wlan0", Flags: Temporary | DADFailed},
		{IP: netip.MustParseAddr("::1"), Bits: 128, Index: 1, Interface: "lo"},
	}
	var addrs []Addr
	for _, a := range got {
		ad := a.addr()
		ad.PreferredLifetime, ad.ValidLifetime = 0, 0
		addrs = append(addrs, ad)
	}
	if diff := cmp.Diff(want, addrs, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("parseIfInet6 (-want +got):\n%s", diff)
	}
}

func TestParseProcNetDev(t *testing.T) {
	in := "Inter-|   Receive                |  Transmit\n" +
		" face |bytes    packets errs drop|bytes    packets\n" +
		"    lo: 2205 22    0    0 2205 22\n" +
		"  eth0:       0       0    0    0        0       0\n" +
		"veth-with-a-name-far-too-long: 0 0\n" +
		"garbage\n"
	if got, want := parseProcNetDev([]byte(in)), []string{"lo", "eth0"}; !slices.Equal(got, want) {
		t.Errorf("parseProcNetDev = %q, want %q", got, want)
	}
}

// FuzzParseIfInet6 feeds arbitrary files to the parser (corpus in
// testdata/fuzz): what it returns must be addresses a snapshot can hold.
func FuzzParseIfInet6(f *testing.F) {
	if b, err := os.ReadFile("/proc/net/if_inet6"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, a := range parseIfInet6(b) {
			ad := a.addr()
			if !ad.IP.Is6() || ad.Bits < 0 || ad.Bits > 128 || ad.Index <= 0 || ad.Interface == "" {
				t.Errorf("bad address %+v", ad)
			}
			if ad.IP.IsLinkLocalUnicast() != (ad.IP.Zone() == strconv.Itoa(ad.Index)) {
				t.Errorf("zone wrong on %v", ad.IP)
			}
		}
		_ = parseProcNetDev(b)
	})
}
