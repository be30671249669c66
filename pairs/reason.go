package pairs

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getapr/getapr/probe"
)

// pairs builds the result in the order of keys, in one pass. Each Reason is
// written into the workspace's buffer after the prefixes' text, then copied
// into one strings.Builder for all the Reasons, of whose text it is a slice:
// one allocation, no second pass over the result to set the Reasons, and no
// copy of the whole text.
func (r *ranking) pairs(keys []uint64, kb keyBits) []Pair {
	in, ws := r.in, r.ws
	out := make([]Pair, len(keys))
	b := r.writePrefixes(ws.text[:0])
	var reasons strings.Builder
	reasons.Grow(ws.reasonSize(len(keys)))
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
		if d.synth.IsValid() { // out is zeroed: store no more pointers than needed
			p.Synthesized = d.synth
		}
		tie := int32(-1) // the previous candidate, if this one ties with it
		if i > 0 && kb.ties(keys[i-1], k) {
			tie = r.at[kb.pos(keys[i-1])]
		}
		b = r.appendReason(b[:r.reasonsFrom], ci, tie)
		from := reasons.Len()
		reasons.Write(b[r.reasonsFrom:])
		p.Reason = reasons.String()[from:]
	}
	ws.text = b
	ws.noteReasons(len(keys), reasons.Len())
	return out
}

// writePrefixes appends to text, once per prefix that a destination inherits a
// latency within (its NearbyPrefix), the prefix's text, and keeps where it is in
// the destinations' prefix. It records in reasonsFrom where the text after them
// starts.
func (r *ranking) writePrefixes(text []byte) []byte {
	written := r.ws.prefixes[:0]
	for i, c := range r.in.cands {
		w := &r.dsts[c.dst]
		if r.cands[i].est.basis != Inherited || w.prefix[1] != 0 {
			continue
		}
		np := probe.NearbyPrefix(r.in.dsts[c.dst].attr.ip)
		j := slices.IndexFunc(written, func(x writtenPrefix) bool { return x.prefix == np })
		if j < 0 {
			from := len(text)
			text, _ = np.AppendText(text)
			written = append(written, writtenPrefix{np, [2]int32{int32(from), int32(len(text))}})
			j = len(written) - 1
		}
		w.prefix = written[j].at
	}
	r.ws.prefixes = written
	r.reasonsFrom = int32(len(text))
	return text
}

// writtenPrefix is a prefix writePrefixes wrote, and where.
type writtenPrefix struct {
	prefix netip.Prefix
	at     [2]int32
}

// appendReason appends to b why candidate ci ranks where it does: its tier, its
// latency estimate, and what put it after candidate prev when they tie (prev < 0:
// no tie): the kernel's choice, else an RFC 6724 rule. b must hold the text
// writePrefixes wrote.
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
		pr := r.dsts[c.dst].prefix
		b = append(append(b, "inherited "...), b[pr[0]:pr[1]]...)
		b = appendLatency(append(b, ' '), e.latency)
	default:
		own, words := in.dsts[c.dst].defaultLatency(&in.srcs[c.src])
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
