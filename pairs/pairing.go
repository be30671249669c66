package pairs

import (
	"context"
	"net/netip"

	"github.com/getapr/getapr/internal/nat64"
	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// candidates forms the candidate pairs from the view's sources to dsts under the
// pairing rules, drops those the kernel cannot route (asking w), and adds them to
// in, which holds the view's sources and no candidates, ready to rank. local, when
// valid, restricts the sources (an unspecified local restricts only the family).
// why has, for each destination without a pair, the reason.
func (v *view) candidates(ctx context.Context, w netstate.Watcher, in *rankInput, dsts []netip.Addr, local netip.Addr, tr probe.Translators, t PolicyTable) (why []string) {
	for _, d := range dsts {
		n := len(in.cands)
		reason := v.pairsTo(ctx, w, in, d, local, tr, t)
		if len(in.cands) == n {
			why = append(why, d.String()+": "+reason)
		}
	}
	return why
}

// localAllows reports whether the caller's local address admits source a. As
// for net.Dialer's LocalAddr, an unspecified local address admits any source
// (its port alone is kept); a zone, given as a name or an index, must name a's
// interface.
func (v *view) localAllows(local netip.Addr, a netstate.Addr) bool {
	switch {
	case !local.IsValid() || local.IsUnspecified():
		return true
	case local.Is4() != a.IP.Is4() || local.WithZone("") != a.IP.WithZone(""):
		return false
	case local.Zone() != "":
		i, ok := v.zoneIndex(local.Zone())
		return ok && i == a.Index // the same link-local address may be on several links
	}
	return true
}

// pairsTo adds to in the candidate pairs to destination d and returns why there is
// none when it adds nothing.
func (v *view) pairsTo(ctx context.Context, w netstate.Watcher, in *rankInput, d netip.Addr, local netip.Addr, tr probe.Translators, t PolicyTable) string {
	dc := netstate.Classify(d)
	switch dc {
	case netstate.NotSource:
		return "not a unicast address"
	case netstate.Loopback:
		return v.loopbackPair(in, d, local, t)
	}
	if !local.IsValid() || local.IsUnspecified() {
		if si, ok := v.ownAddress(in, d); ok {
			// One of the host's own addresses: reached through loopback, from
			// itself, as the kernel does it for net.Dialer.
			in.addCand(si, in.destIndex(int32(len(in.dsts)), d, dc, t), false)
			return ""
		}
	}
	zoneIdx := 0
	if dc == netstate.LinkLocal6 && d.Zone() != "" {
		i, ok := v.zoneIndex(d.Zone())
		if !ok {
			return "no interface " + d.Zone()
		}
		zoneIdx = i
	}
	why, first, n := "no "+familyName(d)+" source", int32(len(in.dsts)), len(in.cands)
	if local.IsValid() && !local.IsUnspecified() {
		why = "no source " + local.String()
	}
	// A source the class rules allow and a route or zone then rules out says
	// more than one the class rules exclude (a link-local source, say, when
	// the global one has lost its route): its reason is kept.
	classAllowed := false
	for si := range in.srcs {
		s := &in.srcs[si]
		if !v.localAllows(local, s.addr) || s.addr.IP.Is4() != d.Is4() {
			continue
		}
		if ok, rule := allowed(s.class, dc, tr); !ok {
			if !classAllowed {
				why = s.class.String() + " source: " + rule
			}
			continue
		}
		classAllowed = true
		dz := d
		if dc == netstate.LinkLocal6 {
			if zoneIdx != 0 && zoneIdx != s.addr.Index {
				why = "no link-local source on " + d.Zone()
				continue
			}
			dz = d.WithZone(s.addr.IP.Zone()) // the name, or the index (netstate's fallback)
		}
		mismatch, err := v.route(ctx, w, s.addr.IP, s.addr.Index, dz, &in.routes)
		if err != nil {
			why = err.Error()
			continue
		}
		in.addCand(int32(si), in.destIndex(first, dz, dc, t), mismatch)
	}
	if dc.Is4() {
		why = v.synthesize(ctx, w, in, d, local, t, first, n, why)
	}
	v.markKernelChoice(ctx, w, in, first, n)
	return why
}

// synthesize adds the pairs to the IPv4 destination d through a NAT64 (RFC
// 6052, HEv3's "Handling NAT64 Networks"): for each link with a NAT64 prefix
// (in.pref64) that none of the native candidates to d, in.cands[n:], leaves by
// (the link has no IPv4 route to d), the pairs from that link's IPv6 sources
// to d synthesized under the link's prefix, when the kernel routes them out of
// that link. Host-scoped IPv4 destinations are never synthesized. It returns
// why d has no pair at all, given why (the native pairs' reason), when it adds
// none either.
func (v *view) synthesize(ctx context.Context, w netstate.Watcher, in *rankInput, d, local netip.Addr, t PolicyTable, first int32, n int, why string) string {
	if len(in.pref64) == 0 {
		if len(in.cands) == n && !in.only4 {
			why += ", and no NAT64 prefix (PREF64) to reach it over IPv6"
		}
		return why
	}
	for _, p := range in.pref64 {
		if nativeVia(in, n, p.Index) {
			continue
		}
		d6, ok := nat64.Synthesize(p.Prefix, d)
		if !ok {
			why = "not translatable through a NAT64"
			continue
		}
		dc6, di := netstate.Classify(d6), int32(-1)
		for si := range in.srcs {
			s := &in.srcs[si]
			if s.addr.Index != p.Index || !s.addr.IP.Is6() || !v.localAllows(local, s.addr) {
				continue
			}
			if s.class != netstate.GUA && s.class != netstate.ULA {
				// The NAT64 translates global and unique local sources alike,
				// whatever space its prefix is in: no NPTv6 rule applies.
				continue
			}
			mismatch, err := v.route(ctx, w, s.addr.IP, s.addr.Index, d6, &in.routes)
			switch {
			case err != nil:
				why = err.Error()
				continue
			case mismatch:
				why = "the route to " + d6.String() + " leaves by another link than its NAT64's"
				continue
			}
			if di < 0 {
				di = in.destIndex(first, d6, dc6, t)
				in.dsts[di].synth = d
			}
			in.addCand(int32(si), di, false)
		}
	}
	return why
}

// nativeVia reports whether one of the native candidates in.cands[n:] leaves
// by link index: its source is on that link and the kernel routes it out of it.
func nativeVia(in *rankInput, n int, index int) bool {
	for _, c := range in.cands[n:] {
		if in.dsts[c.dst].synth.IsValid() || c.mismatch {
			continue
		}
		if in.srcs[c.src].addr.Index == index {
			return true
		}
	}
	return false
}

// ownAddress returns the index among in.srcs of the source that is d itself
// (a destination that is one of the host's addresses); zones must agree when
// both have one.
func (v *view) ownAddress(in *rankInput, d netip.Addr) (int32, bool) {
	for si := range in.srcs {
		ip := in.srcs[si].addr.IP
		if ip.WithZone("") != d.WithZone("") {
			continue
		}
		if d.Zone() != "" {
			if i, ok := v.zoneIndex(d.Zone()); !ok || i != in.srcs[si].addr.Index {
				continue
			}
		}
		return int32(si), true
	}
	return 0, false
}

// markKernelChoice marks, for each destination in.dsts[first:], the candidate
// among in.cands[n:] whose source is the one the kernel itself would use to reach
// it (its RFC 6724 choice, with the routes and rules it has), if any is.
func (v *view) markKernelChoice(ctx context.Context, w netstate.Watcher, in *rankInput, first int32, n int) {
	for di := first; di < int32(len(in.dsts)); di++ {
		kc := v.kernelChoice(ctx, w, in.dsts[di].attr.ip, &in.routes)
		if !kc.IsValid() {
			continue
		}
		kc = kc.WithZone("")
		for i := n; i < len(in.cands); i++ {
			c := &in.cands[i]
			if c.dst == di && in.srcs[c.src].addr.IP.WithZone("") == kc {
				c.kernel = true
				break
			}
		}
	}
}

// destIndex returns the index of destination ip among in.dsts[first:], adding it
// when it is not there yet (a link-local destination has one entry per zone).
func (in *rankInput) destIndex(first int32, ip netip.Addr, c netstate.Class, t PolicyTable) int32 {
	for i := first; i < int32(len(in.dsts)); i++ {
		if in.dsts[i].attr.ip == ip {
			return i
		}
	}
	in.dsts = append(in.dsts, dest{attr: attrOf(ip, t), class: c})
	return int32(len(in.dsts) - 1)
}

func familyName(ip netip.Addr) string {
	if ip.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// loopbackPair adds the pair to the loopback destination d: from the loopback
// address of its family (or local, when it is a loopback address). The kernel
// routes loopback itself: no route check.
func (v *view) loopbackPair(in *rankInput, d, local netip.Addr, t PolicyTable) string {
	src := netip.IPv6Loopback()
	if d.Is4() {
		src = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if local.IsValid() && !local.IsUnspecified() {
		if !local.IsLoopback() || local.Is4() != d.Is4() {
			return "loopback only from loopback"
		}
		src = local.WithZone("")
	}
	a := netstate.Addr{IP: src, Bits: src.BitLen(), Index: v.lo}
	if l, ok := v.snap.Link(v.lo); ok {
		a.Interface = l.Name
	}
	si := in.addSource(newSource(a, t))
	in.dsts = append(in.dsts, dest{attr: attrOf(d, t), class: netstate.Loopback})
	in.addCand(si, int32(len(in.dsts)-1), false)
	return ""
}
