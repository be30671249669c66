package nat64

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// option builds a PREF64 option the way RFC 8781 section 4 draws it, written
// out independently of ParseOption.
func option(scaled uint16, plc uint8, prefix string) []byte {
	b := []byte{OptionType, 2, 0, 0}
	binary.BigEndian.PutUint16(b[2:], scaled<<3|uint16(plc))
	a := netip.MustParseAddr(prefix).As16()
	return append(b, a[:12]...)
}

func TestParseOption(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want Option
		err  string // substring of the error; "" means success
	}{
		{"96", option(225, 0, "2001:db8:6464::"), Option{netip.MustParsePrefix("2001:db8:6464::/96"), 1800 * time.Second}, ""},
		{"64", option(1, 1, "2001:db8:122:344::"), Option{netip.MustParsePrefix("2001:db8:122:344::/64"), 8 * time.Second}, ""},
		{"56", option(2, 2, "2001:db8:122:300::"), Option{netip.MustParsePrefix("2001:db8:122:300::/56"), 16 * time.Second}, ""},
		{"48", option(3, 3, "2001:db8:122::"), Option{netip.MustParsePrefix("2001:db8:122::/48"), 24 * time.Second}, ""},
		{"40", option(4, 4, "2001:db8:100::"), Option{netip.MustParsePrefix("2001:db8:100::/40"), 32 * time.Second}, ""},
		{"32", option(8191, 5, "2001:db8::"), Option{netip.MustParsePrefix("2001:db8::/32"), MaxLifetime}, ""},
		{"well-known", option(100, 0, "64:ff9b::"), Option{WellKnownPrefix, 800 * time.Second}, ""},
		{"withdrawn", option(0, 0, "64:ff9b::"), Option{WellKnownPrefix, 0}, ""},
		{"bits after the length ignored", option(1, 5, "2001:db8:ffff:ffff::"), Option{netip.MustParsePrefix("2001:db8::/32"), 8 * time.Second}, ""},
		{"trailing bytes ignored", append(option(1, 0, "2001:db8:6464::"), 1, 2, 3), Option{netip.MustParsePrefix("2001:db8:6464::/96"), 8 * time.Second}, ""},
		{"plc 6", option(1, 6, "2001:db8::"), Option{}, "prefix length code 6"},
		{"plc 7", option(1, 7, "2001:db8::"), Option{}, "prefix length code 7"},
		{"length 3", append([]byte{OptionType, 3}, make([]byte, 22)...), Option{}, "length 3"},
		{"length 0", []byte{OptionType, 0, 0, 0}, Option{}, "length 0"},
		{"short", option(1, 0, "2001:db8::")[:15], Option{}, "15 bytes"},
		{"empty", nil, Option{}, "0 bytes"},
		{"other type", append([]byte{25, 2}, make([]byte, 14)...), Option{}, "type 25"},
		{"u octet in a /96", option(1, 0, "2001:db8:0:0:ff00::"), Option{}, "bits 64 to 71"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseOption(tc.b)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseOption(%x) = %v, %v; want an error with %q", tc.b, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseOption(%x) = %+v, %v; want %+v", tc.b, got, err, tc.want)
			}
		})
	}
}

// The option as it came from a Router Advertisement on the wire in the lab
// (RFC 8781's figure: type 38, length 2, lifetime 1800 s, PLC 0).
func TestParseOptionBytes(t *testing.T) {
	b, _ := hex.DecodeString("2602070820010db8646400000000000000")
	got, err := ParseOption(b[:16])
	if err != nil {
		t.Fatal(err)
	}
	if want := (Option{netip.MustParsePrefix("2001:db8:6464::/96"), 1800 * time.Second}); got != want {
		t.Fatalf("got %+v; want %+v", got, want)
	}
}

func FuzzParseOption(f *testing.F) {
	f.Add(option(225, 0, "2001:db8:6464::"))
	f.Add(option(0, 5, "64:ff9b::"))
	f.Add(option(1, 7, "2001:db8::"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOption(b)
		if err != nil {
			return
		}
		if CheckPrefix(o.Prefix) != nil {
			t.Fatalf("ParseOption(%x) gave an invalid prefix %v", b, o.Prefix)
		}
		if o.Lifetime < 0 || o.Lifetime > MaxLifetime || o.Lifetime%(8*time.Second) != 0 {
			t.Fatalf("ParseOption(%x) gave lifetime %v", b, o.Lifetime)
		}
		// Encoding the result again and parsing it gives the same option.
		plc := -1
		for code, n := range prefixLengths {
			if n == o.Prefix.Bits() {
				plc = code
			}
		}
		re := option(uint16(o.Lifetime/(8*time.Second)), uint8(plc), o.Prefix.Addr().String())
		if o2, err := ParseOption(re); err != nil || o2 != o {
			t.Fatalf("round trip of %+v: %+v, %v", o, o2, err)
		}
	})
}
