package pairs

import (
	"net/netip"
	"strconv"
)

// scope is an RFC 6724 section 3.1 address scope.
type scope uint8

const (
	scopeLinkLocal scope = 0x2
	scopeSiteLocal scope = 0x5
	scopeGlobal    scope = 0xe
)

// scopeOf returns the scope of a unicast address (RFC 6724 section 3.1 and, for
// IPv4, section 3.2: loopback and 169.254/16 are link-local, all else global) or of
// an IPv6 multicast address (its scope field).
func scopeOf(ip netip.Addr) scope {
	switch {
	case ip.IsLoopback(), ip.IsLinkLocalUnicast():
		return scopeLinkLocal
	case ip.Is6() && ip.IsMulticast():
		return scope(ip.As16()[1] & 0x0f)
	case ip.Is6() && ip.As16()[0] == 0xfe && ip.As16()[1]&0xc0 == 0xc0:
		return scopeSiteLocal // fec0::/10 (RFC 3879)
	}
	return scopeGlobal
}

// attr is what the RFC 6724 rules need to know of one address.
type attr struct {
	ip         netip.Addr
	scope      scope
	precedence uint8
	label      uint8
}

func attrOf(ip netip.Addr, t PolicyTable) attr {
	e := t.Lookup(ip)
	return attr{ip: ip, scope: scopeOf(ip), precedence: e.Precedence, label: e.Label}
}

// srcAttr is a candidate source address as the source rules see it.
type srcAttr struct {
	attr
	bits       int  // prefix length of the source's on-link prefix
	deprecated bool // preferred lifetime over
	temporary  bool // privacy address
}

// rule says which RFC 6724 rule decided a comparison: a source rule (section 5) or
// a destination rule (section 6), by number; the zero rule decided nothing.
type rule struct {
	dst bool
	n   uint8
}

var ruleNames = [...]string{
	1: "same address", 2: "scope", 3: "deprecated", 5: "outgoing interface",
	6: "label", 7: "temporary", 8: "longest match",
}

var dstRuleNames = [...]string{
	2: "matching scope", 3: "deprecated", 5: "label", 6: "precedence",
	8: "smaller scope", 9: "longest match", 10: "input order",
}

func (r rule) String() string {
	switch {
	case r.n == 0:
		return ""
	case r.dst:
		return "dst rule " + strconv.Itoa(int(r.n)) + " " + dstRuleNames[r.n]
	}
	return "rule " + strconv.Itoa(int(r.n)) + " " + ruleNames[r.n]
}

// preferBool returns -1 when only a is true, +1 when only b is, else 0.
func preferBool(a, b bool) int {
	switch {
	case a && !b:
		return -1
	case b && !a:
		return 1
	}
	return 0
}

// compareSources orders two candidate sources a and b for destination d by the
// source address selection rules of RFC 6724 section 5. A negative result prefers
// a, a positive one b. outA and outB tell whether the source's interface is the
// one the kernel would send to d by (rule 5). The rule returned is the one that
// decided, zero when none did.
func compareSources(d attr, a, b srcAttr, outA, outB bool) (int, rule) {
	// Rule 1: Prefer same address.
	if c := preferBool(a.ip == d.ip, b.ip == d.ip); c != 0 {
		return c, rule{n: 1}
	}

	// Rule 2: Prefer appropriate scope: the smaller scope if it is large enough
	// for d, else the larger one.
	if a.scope != b.scope {
		small, big := -1, 1 // a is the smaller
		if b.scope < a.scope {
			small, big = 1, -1
		}
		if min(a.scope, b.scope) < d.scope {
			return big, rule{n: 2}
		}
		return small, rule{n: 2}
	}

	// Rule 3: Avoid deprecated addresses.
	if c := preferBool(!a.deprecated, !b.deprecated); c != 0 {
		return c, rule{n: 3}
	}

	// Rule 4: Prefer home addresses. Mobile IPv6 is not modelled: no source is a
	// home address.

	// Rule 5: Prefer outgoing interface: the source on the interface the kernel's
	// route for d leaves by.
	if c := preferBool(outA, outB); c != 0 {
		return c, rule{n: 5}
	}

	// Rule 5.5: Prefer addresses in a prefix advertised by the next-hop. Not
	// modelled: the host's router advertisements are not known here.

	// Rule 6: Prefer matching label.
	if c := preferBool(a.label == d.label, b.label == d.label); c != 0 {
		return c, rule{n: 6}
	}

	// Rule 7: Prefer temporary addresses (privacy addresses, RFC 8981).
	if c := preferBool(a.temporary, b.temporary); c != 0 {
		return c, rule{n: 7}
	}

	// Rule 8: Use longest matching prefix, up to the source's prefix length.
	ca, cb := commonPrefixLen(a.ip, d.ip, a.bits), commonPrefixLen(b.ip, d.ip, b.bits)
	if ca != cb {
		if ca > cb {
			return -1, rule{n: 8}
		}
		return 1, rule{n: 8}
	}
	return 0, rule{}
}

// compareDestinations orders two destinations da and db, reached from sources sa and
// sb, by the destination address selection rules of RFC 6724 section 6. A negative
// result prefers da, a positive one db. Pairs the kernel cannot route never get
// here, which settles rule 1.
func compareDestinations(da, db attr, sa, sb srcAttr) (int, rule) {
	// Rule 1: Avoid unusable destinations. Unroutable pairs were dropped before
	// ranking, and every destination ranked has a source.

	// Rule 2: Prefer matching scope.
	if c := preferBool(da.scope == sa.scope, db.scope == sb.scope); c != 0 {
		return c, rule{dst: true, n: 2}
	}

	// Rule 3: Avoid deprecated addresses: a destination whose source is deprecated
	// goes after one whose source is not.
	if c := preferBool(!sa.deprecated, !sb.deprecated); c != 0 {
		return c, rule{dst: true, n: 3}
	}

	// Rule 4: Prefer home addresses. Mobile IPv6 is not modelled.

	// Rule 5: Prefer matching label.
	if c := preferBool(sa.label == da.label, sb.label == db.label); c != 0 {
		return c, rule{dst: true, n: 5}
	}

	// Rule 6: Prefer higher precedence.
	if da.precedence != db.precedence {
		if da.precedence > db.precedence {
			return -1, rule{dst: true, n: 6}
		}
		return 1, rule{dst: true, n: 6}
	}

	// Rule 7: Prefer native transport. Encapsulation is not visible from the
	// addresses alone; tunnels show up as interfaces and are native here.

	// Rule 8: Prefer smaller scope.
	if da.scope != db.scope {
		if da.scope < db.scope {
			return -1, rule{dst: true, n: 8}
		}
		return 1, rule{dst: true, n: 8}
	}

	// Rule 9: Use longest matching prefix. Like Go's net package (issues 13283 and
	// 18518), only between IPv6 destinations: IPv4 prefixes say little about
	// distance.
	if da.ip.Is6() && db.ip.Is6() {
		ca, cb := commonPrefixLen(sa.ip, da.ip, sa.bits), commonPrefixLen(sb.ip, db.ip, sb.bits)
		if ca != cb {
			if ca > cb {
				return -1, rule{dst: true, n: 9}
			}
			return 1, rule{dst: true, n: 9}
		}
	}

	// Rule 10: Otherwise, leave the order unchanged (the caller sorts stably).
	return 0, rule{dst: true, n: 10}
}

// commonPrefixLen returns the number of leading bits a and b share, at most limit
// (the source's prefix length; 64 for IPv6 when unknown) and 0 when the families
// differ.
func commonPrefixLen(a, b netip.Addr, limit int) int {
	if a.Is4() != b.Is4() {
		return 0
	}
	x, y := a.As16(), b.As16()
	first, width := 0, 64
	if a.Is4() {
		first, width = 12, 32
	}
	if limit <= 0 || limit > width {
		limit = width
	}
	n := 0
	for i := first; i < 16 && n < limit; i++ {
		d := x[i] ^ y[i]
		if d != 0 {
			for d&0x80 == 0 {
				n++
				d <<= 1
			}
			break
		}
		n += 8
	}
	return min(n, limit)
}
