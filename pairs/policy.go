package pairs

import "net/netip"

// PolicyEntry is one row of an RFC 6724 policy table.
type PolicyEntry struct {
	// Prefix is matched against IPv6 addresses; IPv4 addresses are looked up as
	// IPv4-mapped IPv6 addresses (::ffff:0:0/96).
	Prefix netip.Prefix
	// Precedence orders destinations (destination rule 6): higher first.
	Precedence uint8
	// Label pairs sources with destinations (source rule 6, destination rule 5).
	Label uint8
}

// PolicyTable is an RFC 6724 policy table: the longest matching prefix gives an
// address its precedence and label. The zero value (an empty table) gives every
// address precedence 0 and label 0.
type PolicyTable []PolicyEntry

// DefaultPolicyTable returns a new copy of the default policy table of RFC 6724
// section 2.1.
func DefaultPolicyTable() PolicyTable {
	return PolicyTable{
		{netip.MustParsePrefix("::1/128"), 50, 0},
		{netip.MustParsePrefix("::/0"), 40, 1},
		{netip.MustParsePrefix("::ffff:0:0/96"), 35, 4},
		{netip.MustParsePrefix("2002::/16"), 30, 2},
		{netip.MustParsePrefix("2001::/32"), 5, 5},
		{netip.MustParsePrefix("fc00::/7"), 3, 13},
		{netip.MustParsePrefix("::/96"), 1, 3},
		{netip.MustParsePrefix("fec0::/10"), 1, 11},
		{netip.MustParsePrefix("3ffe::/16"), 1, 12},
	}
}

// Lookup returns the entry with the longest prefix that contains ip, or the zero
// PolicyEntry when none does. A zone on ip is ignored.
func (t PolicyTable) Lookup(ip netip.Addr) PolicyEntry {
	ip = ip.WithZone("")
	if ip.Is4() {
		ip = netip.AddrFrom16(ip.As16())
	}
	best, bits := PolicyEntry{}, -1
	for _, e := range t {
		if e.Prefix.Bits() > bits && e.Prefix.Contains(ip) {
			best, bits = e, e.Prefix.Bits()
		}
	}
	return best
}
