package pairs

import (
	"cmp"
	"math/bits"
	"net/netip"
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

// choice is a source as a candidate for one destination D.
type choice struct {
	*srcAttr
	out bool // the source is on the interface the kernel's route to D leaves by
	cpl int  // CommonPrefixLen(source, D), up to the source's prefix length
}

// rule says which RFC 6724 rule decided a comparison: a source rule (section 5) or
// a destination rule (section 6), by number; the zero rule decided nothing.
type rule struct {
	dst bool
	n   uint8
}

// ruleTexts and dstRuleTexts name the source and destination rules by number, as
// Reasons cite them.
var ruleTexts = [...]string{
	1: "rule 1 same address", 2: "rule 2 scope", 3: "rule 3 deprecated",
	5: "rule 5 outgoing interface", 6: "rule 6 label", 7: "rule 7 temporary",
	8: "rule 8 longest match",
}

var dstRuleTexts = [...]string{
	2: "dst rule 2 matching scope", 3: "dst rule 3 deprecated", 5: "dst rule 5 label",
	6: "dst rule 6 precedence", 8: "dst rule 8 smaller scope", 9: "dst rule 9 longest match",
	10: "dst rule 10 input order",
}

// String returns the rule's number and name, "rule 6 label" for a source rule,
// "dst rule 6 precedence" for a destination rule; "" for the zero rule.
func (r rule) String() string {
	if r.dst {
		return dstRuleTexts[r.n]
	}
	return ruleTexts[r.n]
}

// boolKey is 0 for a preferred true, 1 otherwise: lower keys are preferred.
func boolKey(preferred bool) uint8 {
	if preferred {
		return 0
	}
	return 1
}

// srcRuleNums are the numbers of the source rules in the order of a srcKey's
// fields.
var srcRuleNums = [...]uint8{1, 2, 3, 5, 6, 7, 8}

// srcKey holds one value per RFC 6724 source rule for a candidate source S of a
// destination D, lower preferred, packed in rule order into the top srcKeyBits
// bits: comparing two keys as integers is comparing the two sources by the rules
// of section 5 (they are written as pairwise comparisons, but each depends on one
// source only). The bits below are zero; the ranking keeps a candidate's index
// there.
type srcKey uint64

// srcKeyBits is the width of a srcKey's fields: 1, 8, 1, 1, 1, 1 and 8 bits.
const (
	srcKeyBits  = 21
	srcKeyShift = 64 - srcKeyBits
)

// srcKeyField is, for each bit of a srcKey counted from its top, the index of the
// field that holds it.
var srcKeyField = [srcKeyBits]uint8{0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6, 6, 6, 6}

// sourceKey returns the rule values of source s for destination d.
func sourceKey(d *attr, s choice) srcKey {
	// Rule 1: Prefer same address.
	k := uint64(boolKey(s.ip == d.ip))

	// Rule 2: Prefer appropriate scope: of two scopes, the smaller if it is at
	// least Scope(D), else the larger. So every scope at least Scope(D) comes
	// first, smallest first; then the others, largest first.
	if s.scope >= d.scope {
		k = k<<8 | uint64(s.scope)
	} else {
		k = k<<8 | uint64(0xff-s.scope)
	}

	// Rule 3: Avoid deprecated addresses.
	k = k<<1 | uint64(boolKey(!s.deprecated))

	// Rule 4: Prefer home addresses. Mobile IPv6 is not modelled: no source is a
	// home address.

	// Rule 5: Prefer outgoing interface: the source on the interface the kernel's
	// route to D leaves by.
	k = k<<1 | uint64(boolKey(s.out))

	// Rule 5.5: Prefer addresses in a prefix advertised by the next-hop. Not
	// modelled: the host's router advertisements are not known here.

	// Rule 6: Prefer matching label.
	k = k<<1 | uint64(boolKey(s.label == d.label))

	// Rule 7: Prefer temporary addresses (privacy addresses, RFC 8981).
	k = k<<1 | uint64(boolKey(s.temporary))

	// Rule 8: Use longest matching prefix, up to the source's prefix length.
	k = k<<8 | uint64(0xff-uint8(s.cpl))
	return srcKey(k << srcKeyShift)
}

// compareSources orders two candidate sources a and b for destination d by the
// source address selection rules of RFC 6724 section 5. A negative result prefers
// a, a positive one b. The rule returned is the one that decided, zero when none
// did.
func compareSources(d *attr, a, b choice) (int, rule) {
	return sourceKey(d, a).compare(sourceKey(d, b))
}

// compare compares two source keys, ignoring the bits below srcKeyShift, and says
// by which rule: the one whose field holds their highest differing bit.
func (k srcKey) compare(o srcKey) (int, rule) {
	x := uint64(k^o) >> srcKeyShift
	if x == 0 {
		return 0, rule{}
	}
	return cmp.Compare(k>>srcKeyShift, o>>srcKeyShift),
		rule{n: srcRuleNums[srcKeyField[bits.LeadingZeros64(x)-srcKeyShift]]}
}

// firstDiff compares a and b, of equal length, element by element, and returns
// the result and the index of the first element that differs.
func firstDiff(a, b []uint8) (int, int) {
	for i := range a {
		if a[i] != b[i] {
			return cmp.Compare(a[i], b[i]), i
		}
	}
	return 0, len(a)
}

// dstRuleNums are the numbers of the destination rules in the order of a dstKey.
var dstRuleNums = [...]uint8{2, 3, 5, 6, 8, 9}

// dstKey holds one value per RFC 6724 destination rule for a destination D reached
// from its source S, in rule order, lower preferred.
type dstKey [len(dstRuleNums)]uint8

// destinationKey returns the rule values of destination d reached from s.
func destinationKey(d *attr, s choice) dstKey {
	var k dstKey

	// Rule 1: Avoid unusable destinations. Unroutable pairs were dropped before
	// ranking, and every destination ranked has a source.

	// Rule 2: Prefer matching scope.
	k[0] = boolKey(d.scope == s.scope)

	// Rule 3: Avoid deprecated addresses: a destination whose source is deprecated
	// goes after one whose source is not.
	k[1] = boolKey(!s.deprecated)

	// Rule 4: Prefer home addresses. Mobile IPv6 is not modelled.

	// Rule 5: Prefer matching label.
	k[2] = boolKey(s.label == d.label)

	// Rule 6: Prefer higher precedence.
	k[3] = 0xff - d.precedence

	// Rule 7: Prefer native transport. Encapsulation is not visible from the
	// addresses alone; tunnels show up as interfaces and are native here.

	// Rule 8: Prefer smaller scope.
	k[4] = uint8(d.scope)

	// Rule 9: Use longest matching prefix. Like Go's net package (issues 13283 and
	// 18518), not for IPv4, where prefixes say little about distance: an IPv4
	// destination counts as sharing no bits with its source. The rule is for two
	// destinations of one family; one key per destination cannot leave it out
	// between families, so an IPv6 destination with a common prefix goes before
	// an IPv4 one that ties with it on every rule before. That takes a policy
	// table giving IPv4 the precedence of IPv6 (the default's differ, and rule 6
	// decides) and equal latencies (which rank before every RFC 6724 rule).
	if d.ip.Is6() {
		k[5] = 0xff - uint8(s.cpl)
	} else {
		k[5] = 0xff
	}

	// Rule 10: Otherwise, leave the order unchanged: the caller sorts stably.
	return k
}

// compareDestinations orders two destinations da and db, reached from sources sa
// and sb, by the destination address selection rules of RFC 6724 section 6. A
// negative result prefers da, a positive one db. When no rule decides, the rule
// returned is rule 10 (the input order).
func compareDestinations(da, db *attr, sa, sb choice) (int, rule) {
	return destinationKey(da, sa).compare(destinationKey(db, sb))
}

// compare compares two destination keys and says by which rule.
func (k dstKey) compare(o dstKey) (int, rule) {
	if c, i := firstDiff(k[:], o[:]); c != 0 {
		return c, rule{dst: true, n: dstRuleNums[i]}
	}
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
