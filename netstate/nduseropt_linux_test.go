package netstate

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/nat64"
)

// raPREF64 is an RTM_NEWNDUSEROPT body as Linux 6.18 (x86-64, little endian)
// delivered it for a Router Advertisement from fe80::b on ifindex 7002 that
// carried a PREF64 option 2001:db8:6464::/96, 1800 s.
const raPREF64 = "0a0010005a1b00008600000000000000" + // nduseroptmsg
	"2602070820010db86464000000000000" + // the option
	"14000100fe80000000000000000000000000000b" // NDUSEROPT_SRCADDR

func mustHex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// littleEndian skips a test whose bytes were captured on a little-endian host
// (nduseroptmsg is in host byte order).
func littleEndian(t testing.TB) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("test vector captured on a little-endian host")
	}
}

func TestParseNDUserOptCaptured(t *testing.T) {
	littleEndian(t)
	m, err := parseNDUserOpt(mustHex(t, raPREF64))
	if err != nil {
		t.Fatal(err)
	}
	if m.Index != 7002 || m.ICMP != icmpRouterAdvert || m.Router != netip.MustParseAddr("fe80::b") || len(m.Opts) != 1 {
		t.Fatalf("got %+v", m)
	}
	want := []nat64.Option{{Prefix: netip.MustParsePrefix("2001:db8:6464::/96"), Lifetime: 1800 * time.Second}}
	if got := m.pref64s(); !slices.Equal(got, want) {
		t.Fatalf("pref64s = %+v; want %+v", got, want)
	}
}

// ndUserOptMsg builds an RTM_NEWNDUSEROPT body in host byte order.
func ndUserOptMsg(index int, icmpType uint8, router netip.Addr, opts ...[]byte) []byte {
	var all []byte
	for _, o := range opts {
		all = append(all, o...)
	}
	b := make([]byte, sizeofNDUserOptMsg)
	b[0] = 10 // AF_INET6
	binary.NativeEndian.PutUint16(b[2:], uint16(len(all)))
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	b[8] = icmpType
	b = append(b, all...)
	if router.IsValid() {
		attr := make([]byte, 4, 20)
		binary.NativeEndian.PutUint16(attr, 20)
		binary.NativeEndian.PutUint16(attr[2:], ndUserOptSrcAddr)
		a := router.As16()
		b = append(b, append(attr, a[:]...)...)
	}
	return b
}

func TestParseNDUserOpt(t *testing.T) {
	pref := mustHex(t, "2602070820010db86464000000000000")
	bad := mustHex(t, "2602070f20010db86464000000000000") // PLC 7
	rdnss := append([]byte{25, 3, 0, 0, 0, 0, 0, 1}, netip.MustParseAddr("2001:db8::53").AsSlice()...)
	router := netip.MustParseAddr("fe80::1")
	for _, tc := range []struct {
		name  string
		b     []byte
		err   bool
		opts  int
		pref  int
		index int
	}{
		{"one pref64", ndUserOptMsg(3, 134, router, pref), false, 1, 1, 3},
		{"rdnss then pref64 and a bad pref64", ndUserOptMsg(4, 134, router, rdnss, pref, bad), false, 3, 1, 4},
		{"no router address", ndUserOptMsg(5, 134, netip.Addr{}, pref), false, 1, 1, 5},
		{"not from an RA", ndUserOptMsg(6, 135, router, pref), false, 1, 0, 6},
		{"short", []byte{10, 0, 0}, true, 0, 0, 0},
		{"ipv4 family", append([]byte{2}, ndUserOptMsg(1, 134, router, pref)[1:]...), true, 0, 0, 0},
		{"options longer than the message", ndUserOptMsg(1, 134, netip.Addr{}, pref)[:24], true, 0, 0, 0},
		{"zero-length option", ndUserOptMsg(1, 134, router, make([]byte, 8)), true, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseNDUserOpt(tc.b)
			if tc.err {
				if err == nil {
					t.Fatalf("parsed %+v; want an error", m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Opts) != tc.opts || len(m.pref64s()) != tc.pref || m.Index != tc.index {
				t.Fatalf("got %+v (%d PREF64)", m, len(m.pref64s()))
			}
			if tc.name != "no router address" && m.Router != router {
				t.Errorf("router %v; want %v", m.Router, router)
			}
		})
	}
}

// FuzzParseNDUserOpt: no panic, options that tile the announced length, and
// PREF64s that are valid prefixes.
func FuzzParseNDUserOpt(f *testing.F) {
	f.Add(mustHex(f, raPREF64))
	f.Add(ndUserOptMsg(4, 134, netip.MustParseAddr("fe80::1"), mustHex(f, "2602070f20010db86464000000000000")))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseNDUserOpt(b)
		if err != nil {
			return
		}
		n := 0
		for _, o := range m.Opts {
			if len(o) == 0 || len(o)%8 != 0 || int(o[1])*8 != len(o) {
				t.Fatalf("bad option %x", o)
			}
			n += len(o)
		}
		if n != int(binary.NativeEndian.Uint16(b[2:4])) {
			t.Fatalf("options cover %d bytes of %d", n, binary.NativeEndian.Uint16(b[2:4]))
		}
		for _, p := range m.pref64s() {
			if nat64.CheckPrefix(p.Prefix) != nil {
				t.Fatalf("bad PREF64 %v", p)
			}
		}
	})
}
