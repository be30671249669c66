package nat64

import (
	"net/netip"
	"slices"
)

// The name and addresses of RFC 7050 (updated by RFC 8880): a DNS64 answers
// an AAAA query for WellKnownName with the two well-known IPv4 addresses
// synthesized under each of its prefixes.
const WellKnownName = "ipv4only.arpa."

var (
	// WellKnownAddr is 192.0.0.170, the first A record of ipv4only.arpa.
	WellKnownAddr = netip.AddrFrom4([4]byte{192, 0, 0, 170})
	// WellKnownAddr2 is 192.0.0.171, the second.
	WellKnownAddr2 = netip.AddrFrom4([4]byte{192, 0, 0, 171})
)

// An embedding is a prefix under which an answer embeds a well-known address.
type embedding struct {
	p netip.Prefix
	w netip.Addr
}

// embeddings returns every prefix of an RFC 6052 length under which a embeds
// one of the well-known addresses, longest first.
func embeddings(a netip.Addr) []embedding {
	var out []embedding
	for _, n := range lengths {
		p, err := a.Prefix(n)
		if err != nil || CheckPrefix(p) != nil {
			continue
		}
		// Extract would refuse 192.0.0.0/24 under the Well-Known Prefix (it is
		// not global), but that is exactly where RFC 7050 puts it.
		if w, ok := extractAny(p, a); ok && (w == WellKnownAddr || w == WellKnownAddr2) {
			out = append(out, embedding{p, w})
		}
	}
	return out
}

// extractAny is Extract without the checks on the embedded address.
func extractAny(p netip.Prefix, v6 netip.Addr) (netip.Addr, bool) {
	a := v6.As16()
	if a[8] != 0 {
		return netip.Addr{}, false
	}
	var b [4]byte
	for k, i := range positions(p.Bits()) {
		b[k] = a[i]
	}
	return netip.AddrFrom4(b), true
}

// PrefixesFromAnswers returns the NAT64 prefixes that the AAAA answers for
// ipv4only.arpa reveal (RFC 7050 section 3), in the order of the answers, each
// once. An answer counts if it embeds 192.0.0.170 or 192.0.0.171 at one of the
// positions of RFC 6052 with a zero u octet. When one answer embeds a
// well-known address at more than one position, the position under which
// another answer embeds the other well-known address wins (the second address
// is there to settle such cases); failing that, the longest prefix. Answers
// that embed neither (a DNS64 that answers with real addresses, or none at
// all) give no prefix: nil means no DNS64 was found. Only the first
// maxAnswers IPv6 answers are read, and at most maxPrefixes prefixes returned:
// RFC 7050 expects one or a few, and a broken or hostile resolver's thousand
// must not cost the work of a thousand (every IPv4 destination is synthesized,
// and every DNS64 answer read back, under each prefix).
func PrefixesFromAnswers(answers []netip.Addr) []netip.Prefix {
	var clean []netip.Addr
	for _, a := range answers {
		if a.Is6() && !a.Is4In6() && len(clean) < maxAnswers {
			clean = append(clean, a.WithZone(""))
		}
	}
	var out []netip.Prefix
	for _, a := range clean {
		cands := embeddings(a)
		if len(cands) == 0 {
			continue
		}
		if p := pick(cands, clean); !slices.Contains(out, p) && len(out) < maxPrefixes {
			out = append(out, p)
		}
	}
	return out
}

// Bounds of PrefixesFromAnswers: the IPv6 answers it reads and the prefixes
// it returns.
const (
	maxAnswers  = 16
	maxPrefixes = 8
)

// pick chooses among the embeddings of one answer: the first under which
// another answer embeds the other well-known address, else the first
// (longest).
func pick(cands []embedding, answers []netip.Addr) netip.Prefix {
	for _, c := range cands {
		other := WellKnownAddr2
		if c.w == WellKnownAddr2 {
			other = WellKnownAddr
		}
		for _, b := range answers {
			if c.p.Contains(b) {
				if got, ok := extractAny(c.p, b); ok && got == other {
					return c.p
				}
			}
		}
	}
	return cands[0].p
}
