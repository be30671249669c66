package nat64

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// OptionType is the Neighbor Discovery option type of PREF64 (RFC 8781).
const OptionType = 38

// MaxLifetime is the longest lifetime a PREF64 option can carry: 8191 units of
// 8 seconds.
const MaxLifetime = 8191 * 8 * time.Second

// An Option is a decoded PREF64 option.
type Option struct {
	// Prefix is the NAT64 prefix, its bits after the length cleared.
	Prefix netip.Prefix
	// Lifetime is how long from the Router Advertisement's arrival the prefix may
	// be used; zero withdraws it.
	Lifetime time.Duration
}

// errOption is wrapped by every error of ParseOption.
var errOption = errors.New("PREF64 option")

// prefixLengths maps the Prefix Length Code (PLC) to the prefix length (RFC
// 8781 section 4); codes 6 and 7 are invalid.
var prefixLengths = [...]int{0: 96, 1: 64, 2: 56, 3: 48, 4: 40, 5: 32}

// ParseOption decodes one PREF64 option, b starting at its Type byte (RFC 8781
// section 4):
//
//	 0                   1                   2                   3
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|   Type (38)   |  Length (2)   |     Scaled Lifetime     | PLC |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|              Highest 96 bits of the Prefix (12 bytes)         |
//
// The Scaled Lifetime is 13 bits in units of 8 seconds; the PLC (3 bits) codes
// the length: 0 is /96, 1 /64, 2 /56, 3 /48, 4 /40, 5 /32. As the RFC asks of a
// receiver, an option whose Length is not 2 or whose PLC is 6 or 7 is an error
// (the caller ignores it), and prefix bits after the length are ignored. Bytes
// after the option's 16 are not looked at. A /96 whose bits 64 to 71 are not
// zero cannot embed IPv4 addresses (RFC 6052) and is an error too.
func ParseOption(b []byte) (Option, error) {
	if len(b) < 2 {
		return Option{}, fmt.Errorf("%w: %d bytes, want 16", errOption, len(b))
	}
	if b[0] != OptionType {
		return Option{}, fmt.Errorf("%w: type %d, want %d", errOption, b[0], OptionType)
	}
	if b[1] != 2 {
		return Option{}, fmt.Errorf("%w: length %d (units of 8 bytes), want 2", errOption, b[1])
	}
	if len(b) < 16 {
		return Option{}, fmt.Errorf("%w: %d bytes, want 16", errOption, len(b))
	}
	v := binary.BigEndian.Uint16(b[2:4])
	plc := int(v & 7)
	if plc >= len(prefixLengths) {
		return Option{}, fmt.Errorf("%w: prefix length code %d", errOption, plc)
	}
	var a [16]byte
	copy(a[:12], b[4:16])
	p := netip.PrefixFrom(netip.AddrFrom16(a), prefixLengths[plc]).Masked()
	if err := CheckPrefix(p); err != nil {
		return Option{}, fmt.Errorf("%w: %w", errOption, err)
	}
	return Option{Prefix: p, Lifetime: time.Duration(v>>3) * 8 * time.Second}, nil
}
