package netstate

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// inet6Addr is one line of /proc/net/if_inet6.
type inet6Addr struct {
	ip    netip.Addr // zoned with the index (in decimal) when link-local
	index int
	bits  int
	flags uint32 // IFA_F_*
	name  string
}

// parseIfInet6 parses /proc/net/if_inet6: one address a line, as
// "20010db8000000000000000000000001 02 40 00 80 eth0" (address, interface index,
// prefix length, scope and IFA_F_* flags in hex, interface name). Lines that do
// not parse are skipped. A link-local address is zoned with its interface's
// index, not its name: without rtnetlink the standard library cannot turn a
// zone name into the index a socket address needs.
func parseIfInet6(b []byte) []inet6Addr {
	var out []inet6Addr
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 6 || len(f[0]) != 32 {
			continue
		}
		raw, err := hex.DecodeString(f[0])
		if err != nil {
			continue
		}
		index, err1 := strconv.ParseUint(f[1], 16, 31)
		bits, err2 := strconv.ParseUint(f[2], 16, 8)
		flags, err3 := strconv.ParseUint(f[4], 16, 32)
		if err1 != nil || err2 != nil || err3 != nil || bits > 128 || index == 0 {
			continue
		}
		ip := netip.AddrFrom16([16]byte(raw))
		if ip.IsLinkLocalUnicast() {
			ip = ip.WithZone(strconv.FormatUint(index, 10))
		}
		out = append(out, inet6Addr{ip: ip, index: int(index), bits: int(bits), flags: uint32(flags), name: f[5]})
	}
	return out
}

// addr converts a to an Addr on its interface, lifetimes Forever (the file does
// not say).
func (a inet6Addr) addr() Addr {
	return Addr{IP: a.ip, Bits: a.bits, Index: a.index, Interface: a.name,
		Flags: addrFlags(a.flags, true), PreferredLifetime: Forever, ValidLifetime: Forever}
}

// parseProcNetDev returns the interface names in /proc/net/dev: the text before
// the colon of every line after the two header lines.
func parseProcNetDev(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 0; sc.Scan(); n++ {
		name, _, ok := strings.Cut(sc.Text(), ":")
		if name = strings.TrimSpace(name); n < 2 || !ok || name == "" || len(name) >= unix.IFNAMSIZ {
			continue
		}
		out = append(out, name)
	}
	return out
}
