package netstate

import (
	"net"
	"net/netip"
	"testing"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"
)

// wg-quick's full tunnel: "not from all fwmark 0xca6c lookup 51820" is an
// inverted rule that matches every packet without the mark: all plain sockets.
func TestWgQuickRules(t *testing.T) {
	up := uint32(unix.IFF_UP | unix.IFF_RUNNING)
	u32 := func(v uint32) *uint32 { return &v }
	ip := func(s string) net.IP { return netip.MustParseAddr(s).AsSlice() }
	rule := func(prio uint32, table uint32, flags uint32, mark *uint32, suppress *uint32) rtnetlink.RuleMessage {
		return rtnetlink.RuleMessage{Family: unix.AF_INET, Action: unix.FR_ACT_TO_TBL, Flags: flags,
			Attributes: &rtnetlink.RuleAttributes{Priority: u32(prio), Table: u32(table), FwMark: mark, SuppressPrefixLen: suppress}}
	}
	d := dumpMessages{
		links: []rtnetlink.LinkMessage{
			{Index: 2, Flags: up, Attributes: &rtnetlink.LinkAttributes{Name: "eth0"}},
			{Index: 5, Flags: up, Attributes: &rtnetlink.LinkAttributes{Name: "wg0"}},
		},
		addrs: []rtnetlink.AddressMessage{
			{Family: unix.AF_INET, PrefixLength: 24, Index: 2, Attributes: &rtnetlink.AddressAttributes{Address: ip("192.0.2.10"), Local: ip("192.0.2.10")}},
			{Family: unix.AF_INET, PrefixLength: 32, Index: 5, Attributes: &rtnetlink.AddressAttributes{Address: ip("10.6.0.2"), Local: ip("10.6.0.2")}},
		},
		rules: []rtnetlink.RuleMessage{
			rule(0, localTable, 0, nil, nil),
			rule(32764, mainTable, 0, nil, u32(0)),
			rule(32765, 51820, unix.FIB_RULE_INVERT, u32(0xca6c), nil),
			rule(32766, mainTable, 0, nil, nil),
			rule(32767, 253, 0, nil, nil),
		},
		routes: routeMessages(t, []rtnetlink.RouteMessage{
			{Family: unix.AF_INET, Table: mainTable, Type: unix.RTN_UNICAST, Attributes: rtnetlink.RouteAttributes{OutIface: 2, Gateway: ip("192.0.2.1")}},
			{Family: unix.AF_INET, Table: mainTable, Type: unix.RTN_UNICAST, DstLength: 24, Attributes: rtnetlink.RouteAttributes{OutIface: 2, Dst: ip("192.0.2.0")}},
			{Family: unix.AF_INET, Table: unix.RT_TABLE_UNSPEC, Type: unix.RTN_UNICAST, Attributes: rtnetlink.RouteAttributes{OutIface: 5, Table: 51820}},
		}),
	}
	s := snapshotOf(t, d)
	wg, _ := s.Addr(netip.MustParseAddr("10.6.0.2"))
	if s.KernelDown(wg) {
		t.Error("KernelDown(wg0's address) = true, but every plain socket's packets leave through wg0")
	}
	if dec, err := s.Lookup(netip.Addr{}, netip.MustParseAddr("198.51.100.7")); err != nil || dec.Interface != "wg0" {
		t.Errorf("Lookup(198.51.100.7) = %+v, %v; the kernel routes it through wg0", dec, err)
	}
}

// TestRuleOfMarks checks how firewall-mark and inverted rules read for a plain
// socket (mark 0, TOS 0).
func TestRuleOfMarks(t *testing.T) {
	u32 := func(v uint32) *uint32 { return &v }
	src := net.IP(netip.MustParseAddr("10.0.0.0").AsSlice())
	for _, tc := range []struct {
		name        string
		flags       uint32
		tos         uint8
		mark, mask  *uint32
		from        bool // from 10.0.0.0/8
		ok, inverse bool
		all         bool // the rule selects every packet
	}{
		{"plain", 0, 0, nil, nil, true, true, false, false},
		{"fwmark 0x1: never", 0, 0, u32(1), nil, false, false, false, false},
		{"fwmark 0/0x1: a plain socket's", 0, 0, u32(0), u32(1), true, true, false, false},
		{"fwmark 0x100/0xff: masked away", 0, 0, u32(0x100), u32(0xff), true, true, false, false},
		{"not fwmark 0xca6c: all (wg-quick)", unix.FIB_RULE_INVERT, 0, u32(0xca6c), nil, false, true, false, true},
		{"not from 10/8", unix.FIB_RULE_INVERT, 0, nil, nil, true, true, true, false},
		{"not from all: never", unix.FIB_RULE_INVERT, 0, nil, nil, false, false, false, false},
		{"tos 0x10: never", 0, 0x10, nil, nil, false, false, false, false},
		{"not tos 0x10: all", unix.FIB_RULE_INVERT, 0x10, nil, nil, true, true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := rtnetlink.RuleMessage{Family: unix.AF_INET, Action: unix.FR_ACT_TO_TBL, Flags: tc.flags, TOS: tc.tos,
				Attributes: &rtnetlink.RuleAttributes{Priority: u32(100), Table: u32(100), FwMark: tc.mark, FwMask: tc.mask}}
			if tc.from {
				m.SrcLength, m.Attributes.Src = 8, &src
			}
			r, ok := ruleOf(m)
			if ok != tc.ok {
				t.Fatalf("ruleOf = %+v, %v; want ok %v", r, ok, tc.ok)
			}
			if !ok {
				return
			}
			if r.Invert != tc.inverse {
				t.Errorf("Invert = %v, want %v", r.Invert, tc.inverse)
			}
			if all := !r.Invert && !r.Src.IsValid() && !r.Dst.IsValid(); all != tc.all {
				t.Errorf("rule %+v selects all: %v, want %v", r, all, tc.all)
			}
		})
	}
}

// TestLookupInvertedRule checks that "not from P lookup T" sends the other
// sources to T.
func TestLookupInvertedRule(t *testing.T) {
	s := &Snapshot{
		Links: []Link{{Index: 2, Name: "eth0", Up: true, Running: true}, {Index: 3, Name: "eth1", Up: true, Running: true}},
		Addrs: []Addr{{IP: netip.MustParseAddr("192.0.2.10"), Bits: 24, Index: 2, Interface: "eth0"},
			{IP: netip.MustParseAddr("198.51.100.10"), Bits: 24, Index: 3, Interface: "eth1"}},
		Rules: []Rule{{Priority: 100, Src: netip.MustParsePrefix("192.0.2.0/24"), Invert: true, Table: 100},
			{Priority: 200, Table: mainTable}},
		Routes: []Route{{Dst: netip.MustParsePrefix("0.0.0.0/0"), Table: 100, Index: 3, Gateway: netip.MustParseAddr("198.51.100.1")},
			{Dst: netip.MustParsePrefix("0.0.0.0/0"), Table: mainTable, Index: 2, Gateway: netip.MustParseAddr("192.0.2.1")}},
	}
	for src, want := range map[string]string{"192.0.2.10": "eth0", "198.51.100.10": "eth1"} {
		d, err := s.Lookup(netip.MustParseAddr(src), netip.MustParseAddr("203.0.113.1"))
		if err != nil || d.Interface != want {
			t.Errorf("Lookup from %s = %+v, %v; want %s", src, d, err, want)
		}
	}
}

// TestRuleOfInputInterface: locally generated traffic comes in by lo, so
// "iif eth1" never matches it and "not iif eth1" always does.
func TestRuleOfInputInterface(t *testing.T) {
	u32 := func(v uint32) *uint32 { return &v }
	for _, tc := range []struct {
		iif     string
		flags   uint32
		ok, all bool
	}{
		{"lo", 0, true, true}, {"eth1", 0, false, false}, {"eth1", unix.FIB_RULE_INVERT, true, true},
	} {
		iif := tc.iif
		r, ok := ruleOf(rtnetlink.RuleMessage{Family: unix.AF_INET, Action: unix.FR_ACT_TO_TBL, Flags: tc.flags,
			Attributes: &rtnetlink.RuleAttributes{Priority: u32(100), Table: u32(100), IIFName: &iif}})
		if ok != tc.ok || ok && (r.Invert || r.Src.IsValid() || r.Dst.IsValid()) != !tc.all {
			t.Errorf("iif %s flags %#x: %+v, %v; want ok %v, all %v", tc.iif, tc.flags, r, ok, tc.ok, tc.all)
		}
	}
}

// A rule that selects by more than the addresses (a user's traffic, as a
// per-user VPN installs; a protocol or a port) applies to the dials' connects
// and to RouteFor, which the kernel answers with the caller's uid. A Snapshot
// cannot evaluate it, but must show it (as RuleOther), so that adding,
// changing or removing one is a change of the host: the answers cached from
// RouteFor before it are then asked again. Its table is not read.
func TestRuleOfOpaqueSelectors(t *testing.T) {
	u32 := func(v uint32) *uint32 { return &v }
	u8 := func(v uint8) *uint8 { return &v }
	base := func(a rtnetlink.RuleAttributes) rtnetlink.RuleMessage {
		a.Priority, a.Table = u32(800), u32(104)
		return rtnetlink.RuleMessage{Family: unix.AF_INET, Action: unix.FR_ACT_TO_TBL, Attributes: &a}
	}
	for name, m := range map[string]rtnetlink.RuleMessage{
		"uidrange": base(rtnetlink.RuleAttributes{UIDRange: &rtnetlink.RuleUIDRange{Start: 0, End: 0}}),
		"ipproto":  base(rtnetlink.RuleAttributes{IPProto: u8(unix.IPPROTO_TCP)}),
		"dport":    base(rtnetlink.RuleAttributes{DPortRange: &rtnetlink.RulePortRange{Start: 443, End: 443}}),
		"oif":      base(rtnetlink.RuleAttributes{OIFName: new(string)}),
	} {
		r, ok := ruleOf(m)
		if !ok || r.Action != RuleOther || r.Priority != 800 || r.Table != 104 {
			t.Errorf("%s rule: %+v, %v; want it kept as RuleOther, priority 800, table 104", name, r, ok)
			continue
		}
		d := dumpMessages{rules: []rtnetlink.RuleMessage{m}}
		before, after := snapshotOf(t, dumpMessages{}), snapshotOf(t, d)
		if sameHost(before, after) {
			t.Errorf("%s rule added: the same host", name)
		}
		if after.lookupTables()[104] {
			t.Errorf("%s rule: its table is read as if the rule applied", name)
		}
	}
}

// An inverted rule by user ("ip rule add not uidrange 0-999 lookup 104", a
// per-user VPN's "everyone but the system users") matches every user's
// traffic outside the range; it is not "not from all", which matches nothing.
// ruleOf reads it as the latter and leaves it out. Consequence: adding or
// removing it is no change of the host (the rule event makes a dump that
// finds the same host, and nothing is published), so the Selector's cached
// route verdicts (and any consumer) never learn that the user's traffic now
// goes by table 104.
func TestRuleOfInvertedOpaque(t *testing.T) {
	u32 := func(v uint32) *uint32 { return &v }
	m := rtnetlink.RuleMessage{Family: unix.AF_INET, Action: unix.FR_ACT_TO_TBL, Flags: unix.FIB_RULE_INVERT,
		Attributes: &rtnetlink.RuleAttributes{Priority: u32(800), Table: u32(104),
			UIDRange: &rtnetlink.RuleUIDRange{Start: 0, End: 999}}}
	r, ok := ruleOf(m)
	if !ok || r.Action != RuleOther {
		t.Fatalf("not uidrange 0-999 lookup 104: %+v, %v; want it kept as RuleOther", r, ok)
	}
	d := dumpMessages{rules: []rtnetlink.RuleMessage{m}}
	if sameHost(snapshotOf(t, dumpMessages{}), snapshotOf(t, d)) {
		t.Error("not uidrange 0-999 lookup 104 added: the same host")
	}
}
