package pairs

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// reasonBytes is about the mean length of a Reason, to size the buffer they share.
const reasonBytes = 48

// pairs builds the result in the order of keys. Every Reason is a slice of one
// strings.Builder, which never changes what it has written.
func (r *ranking) pairs(keys []uint64, kb keyBits) []Pair {
	in := r.in
	out := make([]Pair, len(keys))
	var sb strings.Builder
	sb.Grow(reasonBytes * len(keys))
	r.writePrefixes(&sb)
	var buf [128]byte
	for i, k := range keys {
		ci := r.at[kb.pos(k)]
		c, e := in.cands[ci], &r.cands[ci].est
		s, d := &in.srcs[c.src], &in.dsts[c.dst]
		p := &out[i] // field by field: no Pair is built aside and copied
		p.Src = netip.AddrPortFrom(s.addr.IP, in.srcPort)
		p.Dst = netip.AddrPortFrom(d.attr.ip, in.dstPort)
		p.Interface = s.addr.Interface
		p.SrcClass, p.DstClass = s.class, d.class
		p.Latency, p.RTTVar, p.Basis = e.latency, e.rttvar, e.basis
		p.Health, p.Deprecated, p.EgressMismatch = e.health, s.attr.deprecated, c.mismatch
		p.Middlebox = e.middlebox
		p.Synthesized = d.synth
		tie := int32(-1) // the previous candidate, if this one ties with it
		if i > 0 && kb.ties(keys[i-1], k) {
			tie = r.at[kb.pos(keys[i-1])]
		}
		from := sb.Len()
		sb.Write(r.appendReason(buf[:0], ci, tie))
		p.Reason = sb.String()[from:]
	}
	return out
}

// writePrefixes writes to sb, once per prefix that a destination inherits a
// latency within, its text, and keeps it in the destinations' prefix.
func (r *ranking) writePrefixes(sb *strings.Builder) {
	var buf [64]byte
	for i, c := range r.in.cands {
		w := &r.dsts[c.dst]
		if r.cands[i].est.basis != Inherited || w.prefix != "" {
			continue
		}
		if l := &r.dsts[w.lead]; l.prefix == "" {
			b, _ := l.near.AppendText(buf[:0])
			from := sb.Len()
			sb.Write(b)
			l.prefix = sb.String()[from:]
		}
		w.prefix = r.dsts[w.lead].prefix
	}
}

// appendReason appends why candidate ci ranks where it does: its tier, its
// latency estimate, and what put it after candidate prev when they tie (prev < 0:
// no tie): the kernel's choice, else an RFC 6724 rule.
func (r *ranking) appendReason(b []byte, ci, prev int32) []byte {
	in, e := r.in, &r.cands[ci].est
	c := in.cands[ci]
	switch tierOf(e.health, in.srcs[c.src].attr.deprecated) {
	case tierDead:
		b = append(b, "source dead; "...)
	case tierDeprecated:
		b = append(b, "source deprecated; "...)
	case tierSuspect:
		b = append(b, "source suspect; "...)
	}
	if e.middlebox {
		b = append(b, "middlebox: TLS failed after TCP; "...)
	}
	switch e.basis {
	case Measured:
		b = appendLatency(append(b, "measured "...), e.latency)
	case Inherited:
		b = append(append(b, "inherited "...), r.dsts[c.dst].prefix...)
		b = appendLatency(append(b, ' '), e.latency)
	default:
		own, words := in.dsts[c.dst].defaultLatency(in.srcs[c.src].class)
		b = append(b, words...)
		if e.kernel {
			b = append(b, "; kernel's choice"...)
			if e.latency != own {
				b = appendLatency(append(b, ' '), e.latency)
			}
		}
	}
	switch {
	case prev < 0:
		return b
	case r.cands[prev].est.kernel && !e.kernel:
		return append(b, "; after the kernel's choice"...)
	}
	ru := r.ruleBetween(prev, ci)
	if ru.n == 0 {
		return b
	}
	return append(append(b, "; "...), ru.String()...)
}

// appendLatency appends d for a Reason, rounded: whole milliseconds from 10 ms up,
// else to the tenth of a millisecond.
func appendLatency(b []byte, d time.Duration) []byte {
	if d >= 10*time.Millisecond {
		b = strconv.AppendInt(b, int64((d+time.Millisecond/2)/time.Millisecond), 10)
	} else {
		tenths := int64((d + 50*time.Microsecond) / (100 * time.Microsecond))
		b = strconv.AppendInt(b, tenths/10, 10)
		b = append(b, '.', byte('0'+tenths%10))
	}
	return append(b, "ms"...)
}
