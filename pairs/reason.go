package pairs

import (
	"math/bits"
	"net/netip"
	"strconv"
	"time"

	"github.com/getapr/getapr/probe"
)

// pairs builds the result in the order of keys, in one pass. A Reason is
// written once and kept in the workspace's reasonCache: the candidates of this
// and later rankings whose Reasons say the same (the same reasonKey) share its
// string, so that a ranking of what is already known writes and allocates no
// text.
func (r *ranking) pairs(keys []uint64, kb keyBits) []Pair {
	in, ws := r.in, r.ws
	var out []Pair
	if in.keep {
		out = make([]Pair, len(keys))
	} else {
		out = grown(ws.ranked, len(keys)) // every field is written below
		ws.ranked = out
	}
	rc := &ws.reasons
	rc.trim(len(keys), cap(ws.cands))
	r.nearbyPrefixes()
	for i, k := range keys {
		ci := r.at[kb.pos(k)]
		c, e := in.cands[ci], &r.cands[ci].est
		s, d := &in.srcs[c.src], &in.dsts[c.dst]
		// Field by field, every one (out may hold the last ranking's pairs):
		// no Pair is built aside and copied.
		p := &out[i]
		p.Src = netip.AddrPortFrom(s.addr.IP, in.srcPort)
		p.Dst = netip.AddrPortFrom(d.attr.ip, in.dstPort)
		p.Interface = s.addr.Interface
		p.SrcClass, p.DstClass = s.class, d.class
		p.Latency, p.RTTVar, p.Basis = e.latency, e.rttvar, e.basis
		p.Health, p.Deprecated, p.EgressMismatch = e.health, s.attr.deprecated, c.mismatch
		p.Middlebox, p.Fallback, p.NoNAT64 = e.middlebox, false, false
		p.Synthesized, p.Service = d.synth, nil
		tie := int32(-1) // the previous candidate, if this one ties with it
		if i > 0 && kb.ties(keys[i-1], k) {
			tie = r.at[kb.pos(keys[i-1])]
		}
		p.Reason = rc.text(r.reasonKey(ci, e, kb.tier(k), tie), &ws.text)
	}
	return out
}

// nearbyPrefixes numbers, in the reason cache, the prefix that each destination
// inherits a latency within (its NearbyPrefix), and keeps the number in the
// destination's nearby.
func (r *ranking) nearbyPrefixes() {
	for i, c := range r.in.cands {
		if w := &r.dsts[c.dst]; r.cands[i].est.basis == Inherited && w.nearby == 0 {
			w.nearby = r.ws.reasons.prefix(probe.NearbyPrefix(r.in.dsts[c.dst].attr.ip))
		}
	}
}

// reasonCache keeps the Reasons a workspace's rankings wrote, by reasonKey, and
// the text of the prefixes they cite, by number. The Reasons are in an open
// addressing table, which grows up to twice the pairs of the largest ranking
// the workspace served (see trim); Reasons that find no slot are written each
// time.
type reasonCache struct {
	said     []saidReason // a power of two long
	n        int          // the Reasons in said
	numbers  map[netip.Prefix]int32
	prefixes []string // by number - 1
}

// saidReason is a slot of reasonCache.said.
type saidReason struct {
	id   uint64 // the Reason's reasonKey.id
	text string // "" for an empty slot (no Reason is empty)
}

// Sizes of a reasonCache's table: its first size at least, and the most slots
// after a Reason's own where it may be placed.
const (
	minSaid  = 16
	probeMax = 8
)

// trim readies the cache for a ranking of n pairs, most being the most pairs
// of a ranking it may serve. A table more than half full doubles, keeping its
// Reasons, or, at twice most already, is emptied. Reason keys cite prefixes by
// number: the two are emptied together.
func (rc *reasonCache) trim(n, most int) {
	switch {
	case len(rc.said) == 0:
		rc.said = make([]saidReason, max(minSaid, 1<<bits.Len(uint(n-1))))
	case 2*rc.n <= len(rc.said) && 2*len(rc.prefixes) <= len(rc.said):
	case len(rc.said) < 2*most:
		old := rc.said
		rc.said, rc.n = make([]saidReason, 2*len(old)), 0
		for _, x := range old {
			if x.text != "" {
				rc.keep(rc.slot(x.id), x)
			}
		}
	default:
		clear(rc.said)
		rc.n = 0
		clear(rc.numbers)
		clear(rc.prefixes)
		rc.prefixes = rc.prefixes[:0]
	}
}

// prefix returns p's number (from 1), numbering it if it has none.
func (rc *reasonCache) prefix(p netip.Prefix) int32 {
	if n, ok := rc.numbers[p]; ok {
		return n
	}
	if rc.numbers == nil {
		rc.numbers = make(map[netip.Prefix]int32)
	}
	rc.prefixes = append(rc.prefixes, p.String())
	n := int32(len(rc.prefixes))
	rc.numbers[p] = n
	return n
}

// text returns the Reason k stands for, written into *buf when not kept
// already.
func (rc *reasonCache) text(k reasonKey, buf *[]byte) string {
	id, ok := k.id()
	var x *saidReason
	if ok {
		if x = rc.slot(id); x != nil && x.text != "" {
			return x.text
		}
	}
	*buf = k.appendText((*buf)[:0], rc.prefixes)
	s := string(*buf)
	rc.keep(x, saidReason{id, s})
	return s
}

// slot returns the slot of the Reason whose key has that id, else the free
// slot for it, else (when the probeMax slots from its own are all taken) nil.
func (rc *reasonCache) slot(id uint64) *saidReason {
	// id mixed as splitmix64 finalizes its state: every bit of h depends on
	// every bit of id.
	h := (id ^ id>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	h ^= h >> 31
	mask := uint64(len(rc.said) - 1)
	for i := range uint64(probeMax) {
		if x := &rc.said[(h+i)&mask]; x.text == "" || x.id == id {
			return x
		}
	}
	return nil
}

// keep puts r in the free slot x, if any.
func (rc *reasonCache) keep(x *saidReason, r saidReason) {
	if x != nil {
		*x = r
		rc.n++
	}
}

// reasonKey is what a candidate's Reason says, in a form cheap to compare:
// appendText writes the Reason from the key alone. (Its parts are packed in
// words rather than kept in fields of a byte each: a key written byte by byte
// and read back whole costs a stall.)
type reasonKey struct {
	latency shownLatency // the latency the Reason shows, if any
	nearby  int32        // Inherited: the number of the prefix it is inherited within
	says    reasonSays
}

// reasonSays packs the small parts of a reasonKey: the tier, the basis, the
// kind of default, the yes-or-no parts and the RFC 6724 rule that put the
// candidate after a tying one.
type reasonSays uint32

const (
	saysMiddlebox   reasonSays = 1 << iota // a TLS handshake failed after TCP's
	saysKernel                             // the kernel's choice of source
	saysLatency                            // with the latency it got, not its own default
	saysAfterKernel                        // after a tying kernel's choice
	saysDstRule                            // the rule is a destination rule

	saysTier  = 8  // the tier's shift (2 bits)
	saysBasis = 10 // the basis' shift (2 bits)
	saysKind  = 12 // the kind of default's shift (4 bits)
	saysRule  = 16 // the rule number's shift (8 bits)
)

func (s reasonSays) tier() int             { return int(s>>saysTier) & 3 }
func (s reasonSays) basis() Basis          { return Basis(s>>saysBasis) & 3 }
func (s reasonSays) kind() defaultKind     { return defaultKind(s>>saysKind) & 15 }
func (s reasonSays) rule() rule            { return rule{dst: s&saysDstRule != 0, n: uint8(s >> saysRule)} }
func (s reasonSays) has(f reasonSays) bool { return s&f != 0 }

// id returns k packed in a word, the reason cache's key; false when a value
// does not fit (such a Reason is written each time).
func (k reasonKey) id() (uint64, bool) {
	if k.latency < 0 || k.latency >= 1<<20 || k.nearby < 0 || k.nearby >= 1<<20 {
		return 0, false
	}
	return uint64(k.says) | uint64(k.latency)<<24 | uint64(k.nearby)<<44, true
}

// reasonKey returns the key of why candidate ci, whose estimate is e and whose
// source's tier is tier, ranks where it does: its tier, its latency estimate,
// and what put it after candidate prev when they tie (prev < 0: no tie): the
// kernel's choice, else an RFC 6724 rule.
func (r *ranking) reasonKey(ci int32, e *estimate, tier int, prev int32) reasonKey {
	says := reasonSays(tier)<<saysTier | reasonSays(e.basis)<<saysBasis
	if e.middlebox {
		says |= saysMiddlebox
	}
	k := reasonKey{}
	switch e.basis {
	case Measured:
		k.latency = showLatency(e.latency)
	case Inherited:
		k.latency, k.nearby = showLatency(e.latency), r.dsts[r.in.cands[ci].dst].nearby
	default:
		says |= reasonSays(e.kind&15) << saysKind
		if e.kernel {
			says |= saysKernel
			if e.latency != defaultLatencies[e.kind].latency {
				says |= saysLatency
				k.latency = showLatency(e.latency)
			}
		}
	}
	switch {
	case prev < 0:
	case r.cands[prev].est.kernel && !e.kernel:
		says |= saysAfterKernel
	default:
		ru := r.ruleBetween(prev, ci)
		says |= reasonSays(ru.n) << saysRule
		if ru.dst {
			says |= saysDstRule
		}
	}
	k.says = says
	return k
}

// appendText appends to b the Reason k stands for; prefixes are the texts of
// the prefixes by number - 1.
func (k reasonKey) appendText(b []byte, prefixes []string) []byte {
	s := k.says
	switch s.tier() {
	case tierDead:
		b = append(b, "source dead; "...)
	case tierDeprecated:
		b = append(b, "source deprecated; "...)
	case tierSuspect:
		b = append(b, "source suspect; "...)
	}
	if s.has(saysMiddlebox) {
		b = append(b, "middlebox: TLS failed after TCP; "...)
	}
	switch s.basis() {
	case Measured:
		b = k.latency.append(append(b, "measured "...))
	case Inherited:
		b = append(append(b, "inherited "...), prefixes[k.nearby-1]...)
		b = k.latency.append(append(b, ' '))
	default:
		b = append(b, defaultWords[s.kind()]...)
		if s.has(saysKernel) {
			b = append(b, "; kernel's choice"...)
			if s.has(saysLatency) {
				b = k.latency.append(append(b, ' '))
			}
		}
	}
	switch ru := s.rule(); {
	case s.has(saysAfterKernel):
		return append(b, "; after the kernel's choice"...)
	case ru.n == 0:
		return b
	default:
		return append(append(b, "; "...), ru.String()...)
	}
}

// shownLatency is a latency as a Reason shows it, rounded: whole
// milliseconds from 10 ms up (odd values: twice the milliseconds, plus one),
// else tenths of a millisecond (even values: twice the tenths).
type shownLatency int64

// showLatency returns d as a Reason shows it.
func showLatency(d time.Duration) shownLatency {
	if d >= 10*time.Millisecond {
		return shownLatency((d+time.Millisecond/2)/time.Millisecond)<<1 | 1
	}
	return shownLatency((d+50*time.Microsecond)/(100*time.Microsecond)) << 1
}

// append appends l to b: "12ms", "0.4ms".
func (l shownLatency) append(b []byte) []byte {
	if l&1 != 0 {
		b = strconv.AppendInt(b, int64(l>>1), 10)
	} else {
		tenths := int64(l >> 1)
		b = strconv.AppendInt(b, tenths/10, 10)
		b = append(b, '.', byte('0'+tenths%10))
	}
	return append(b, "ms"...)
}
