//go:build linux

package lab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

var updateNFT = flag.Bool("update-nft", false,
	"rewrite testdata/nftables from what nft --debug=netlink prints for the rules' nft syntax (needs root and nft)")

// TestNFTLikeNFT checks that every batch the lab sends carries the expressions
// nft itself compiles from the same rules in nft syntax: testdata/nftables/NAME
// holds the batch's nft script and what `nft --debug=netlink` printed for it
// (tables and chains left out), and the batch's expressions, printed the same
// way, must match. With -update-nft it records them again.
func TestNFTLikeNFT(t *testing.T) {
	p := newPlan("unit")
	def := defaultState([2]time.Duration{})
	blackhole := def
	blackhole.Blackhole = [2]bool{true, true}
	middlebox := def
	middlebox.Middlebox = [2]MiddleboxMode{MiddleboxSilent, MiddleboxReset}
	nat64 := def
	nat64.NAT64 = true
	for _, tc := range []struct {
		name string
		b    *nftBatch
	}{
		{"server", p.serverNFT()},
		{"ispa", p.ispNFT(0, &def, true)},
		{"ispb", p.ispNFT(1, &def, true)},
		{"ispa-blackhole", p.ispNFT(0, &blackhole, true)},
		{"ispb-blackhole", p.ispNFT(1, &blackhole, true)},
		{"ispa-middlebox", p.ispNFT(0, &middlebox, true)},
		{"ispb-middlebox-reset", p.ispNFT(1, &middlebox, true)},
		{"ispb-nat64", p.ispNFT(1, &nat64, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "nftables", tc.name+".txt")
			script := tc.b.script()
			if *updateNFT {
				recordNFT(t, path, script)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			wantScript, wantExprs := splitRecord(string(data))
			if d := cmp.Diff(wantScript, script); d != "" {
				t.Fatalf("%s was recorded for other rules; rerun with -update-nft as root with nft installed (-recorded +now):\n%s", path, d)
			}
			if d := cmp.Diff(wantExprs, formatNFT(tc.b)); d != "" {
				t.Errorf("expressions differ from nft's (-nft +lab):\n%s", d)
			}
		})
	}
}

// recordNFT writes the script, as comment lines, and what nft prints for it
// (in a new, empty network namespace, in check mode: nothing is applied).
func recordNFT(t *testing.T, path string, script []string) {
	t.Helper()
	c := exec.Command("unshare", "-n", "nft", "--check", "--debug=netlink", "-f", "-")
	c.Stdin = strings.NewReader(strings.Join(script, "\n") + "\n")
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("nft: %v\n%s", err, out)
	}
	var b bytes.Buffer
	b.WriteString("# Recorded by go test -run TestNFTLikeNFT -update-nft (as root, with nft):\n" +
		"# the batch in nft syntax, then what nft --debug=netlink printed for it.\n")
	for _, l := range script {
		b.WriteString("# " + l + "\n")
	}
	for l := range strings.Lines(string(out)) {
		if !strings.Contains(l, "(null)") { // the tables and chains, without names
			b.WriteString(l)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// splitRecord returns a record's script (its "# " lines after the first two)
// and the rest.
func splitRecord(s string) ([]string, string) {
	var script []string
	var rest strings.Builder
	n := 0
	for l := range strings.Lines(s) {
		if c, ok := strings.CutPrefix(l, "# "); ok {
			if n++; n > 2 {
				script = append(script, strings.TrimSuffix(c, "\n"))
			}
			continue
		}
		rest.WriteString(l)
	}
	return script, rest.String()
}

// formatNFT prints the batch's sets and rules as nft --debug=netlink does
// (libnftnl's format, data as 32-bit words in host byte order, little-endian
// here).
func formatNFT(b *nftBatch) string {
	var sb strings.Builder
	for _, r := range b.rules {
		if s := r.set; s != nil {
			flags := 0
			for bit, on := range []bool{s.set.Anonymous, s.set.Constant, s.set.Interval} {
				if on {
					flags |= 1 << bit
				}
			}
			fmt.Fprintf(&sb, "%s %s %d size %d\n", s.set.Name, s.set.Table.Name, flags, len(s.elems))
			fmt.Fprintf(&sb, "%s %s 0\n", s.set.Name, s.set.Table.Name)
			for _, e := range s.elems {
				end := 0
				if e.IntervalEnd {
					end = 1
				}
				fmt.Fprintf(&sb, "\telement %s : %d [end]", strings.ReplaceAll(words(e.Key), "0x", ""), end)
			}
			sb.WriteString("\n")
		}
		sb.WriteString(chainRef(r.chain) + "\n")
		for _, e := range r.exprs {
			fmt.Fprintf(&sb, "  [ %s]\n", formatExpr(e))
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

// formatExpr prints one expression as libnftnl does, without the brackets.
func formatExpr(e expr.Any) string {
	switch e := e.(type) {
	case *expr.Meta:
		key := map[expr.MetaKey]string{expr.MetaKeyIIFNAME: "iifname", expr.MetaKeyOIFNAME: "oifname", expr.MetaKeyNFPROTO: "nfproto",
			expr.MetaKeyL4PROTO: "l4proto"}[e.Key]
		return fmt.Sprintf("meta load %s => reg %d ", key, e.Register)
	case *expr.Cmp:
		op := map[expr.CmpOp]string{expr.CmpOpEq: "eq", expr.CmpOpNeq: "neq"}[e.Op]
		return fmt.Sprintf("cmp %s reg %d %s", op, e.Register, words(e.Data))
	case *expr.Payload:
		base := map[expr.PayloadBase]string{expr.PayloadBaseLLHeader: "link", expr.PayloadBaseNetworkHeader: "network",
			expr.PayloadBaseTransportHeader: "transport"}[e.Base]
		return fmt.Sprintf("payload load %db @ %s header + %d => reg %d ", e.Len, base, e.Offset, e.DestRegister)
	case *expr.Bitwise:
		return fmt.Sprintf("bitwise reg %d = ( reg %d & %s) ^ %s", e.DestRegister, e.SourceRegister, words(e.Mask), words(e.Xor))
	case *expr.Lookup:
		s := fmt.Sprintf("lookup reg %d set %s ", e.SourceRegister, e.SetName)
		if e.Invert {
			s += fmt.Sprintf("0x%x ", unix.NFT_LOOKUP_F_INV)
		}
		return s
	case *expr.Immediate:
		return fmt.Sprintf("immediate reg %d %s", e.Register, words(e.Data))
	case *expr.Verdict:
		switch e.Kind {
		case expr.VerdictDrop:
			return "immediate reg 0 drop "
		case expr.VerdictJump:
			return "immediate reg 0 jump -> " + e.Chain + " "
		}
	case *expr.Masq:
		if *e == (expr.Masq{}) {
			return "masq "
		}
	case *expr.Redir:
		if e.RegisterProtoMax == 0 {
			return fmt.Sprintf("redir proto_min reg %d flags 0x%x ", e.RegisterProtoMin, e.Flags)
		}
	case *expr.NAT:
		typ := map[expr.NATType]string{expr.NATTypeSourceNAT: "snat", expr.NATTypeDestNAT: "dnat"}[e.Type]
		fam := map[uint32]string{unix.NFPROTO_IPV4: "ip", unix.NFPROTO_IPV6: "ip6"}[e.Family]
		flags := 0
		if e.Prefix {
			flags |= expr.NF_NAT_RANGE_PREFIX
		}
		if e.Specified {
			flags |= expr.NF_NAT_RANGE_PROTO_SPECIFIED
		}
		return fmt.Sprintf("nat %s %s addr_min reg %d addr_max reg %d flags 0x%x ", typ, fam, e.RegAddrMin, e.RegAddrMax, flags)
	}
	return fmt.Sprintf("unexpected %T %+v ", e, e)
}

// words prints data as libnftnl prints a register: 32-bit words in host byte
// order, the last one zero-padded, each followed by a space.
func words(data []byte) string {
	var s strings.Builder
	for i := 0; i < len(data); i += 4 {
		var w [4]byte
		copy(w[:], data[i:])
		fmt.Fprintf(&s, "0x%08x ", binary.LittleEndian.Uint32(w[:]))
	}
	return s.String()
}

func TestISPRules(t *testing.T) {
	p := newPlan("unit")
	def := defaultState([2]time.Duration{})
	for _, tc := range []struct {
		name   string
		uplink int
		change func(*controlState)
		want   [][]string // each: parts one line must contain
		absent [][]string
	}{
		{"default-a", 0, nil,
			[][]string{{"ingress", `iifname "lan"`, "2001:db8:a::/48", "fd00:a::/64", "drop"},
				{"ingress", "ip saddr != { 10.1.0.0/24 }"},
				{"masquerade", "10.1.0.0/24"},
				{"snat ip6 prefix to 2001:db8:a:f::/64", "fd00:a::/64"},
				{"dnat ip6 prefix to fd00:a::/64", "2001:db8:a:f::/64"}},
			[][]string{{"blackhole", "drop"}}},
		{"default-b", 1, nil,
			[][]string{{"ingress", "2001:db8:b::/48"}, {"ingress", "203.0.113.0/25"}},
			[][]string{{"masquerade"}, {"snat"}, {"blackhole", "drop"}}},
		{"blackhole", 0, func(s *controlState) { s.Blackhole[0] = true },
			[][]string{{"blackhole", `iifname "lan"`, "drop"}, {"blackhole", `oifname "lan"`, "drop"}}, nil},
		{"blackhole-other", 1, func(s *controlState) { s.Blackhole[0] = true }, nil, [][]string{{"blackhole", "drop"}}},
		{"no-ingress", 0, func(s *controlState) { s.Ingress[0] = false }, nil, [][]string{{"add rule inet gapr ingress"}}},
		{"no-nat44", 0, func(s *controlState) { s.NAT44 = false }, [][]string{{"snat"}}, [][]string{{"masquerade"}}},
		{"no-nptv6", 0, func(s *controlState) { s.NPTv6 = false }, [][]string{{"masquerade"}}, [][]string{{"snat"}, {"dnat"}}},
		{"middlebox-silent", 0, func(s *controlState) { s.Middlebox[0] = MiddleboxSilent },
			[][]string{{"ip gapr4 prerouting", `iifname "lan" tcp dport 443 redirect to :4443`},
				{"ip6 gapr6 prerouting", `iifname "lan" tcp dport 443 redirect to :4443`}}, nil},
		{"middlebox-reset", 1, func(s *controlState) { s.Middlebox[1] = MiddleboxReset },
			[][]string{{"ip gapr4 prerouting", "redirect to :4444"}, {"ip6 gapr6 prerouting", "redirect to :4444"}}, nil},
		{"middlebox-other-uplink", 1, func(s *controlState) { s.Middlebox[0] = MiddleboxSilent }, nil, [][]string{{"redirect"}}},
		{"no-middlebox", 0, nil, nil, [][]string{{"redirect"}}},
		{"nat64-b", 1, func(s *controlState) { s.NAT64 = true },
			[][]string{{"ip gapr4 postrouting", `oifname "wan"`, "ip saddr 192.168.255.0/24 masquerade"}}, nil},
		{"nat64-not-a", 0, func(s *controlState) { s.NAT64 = true }, nil, [][]string{{"192.168.255.0/24"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := def
			if tc.change != nil {
				tc.change(&s)
			}
			lines := p.ispNFT(tc.uplink, &s, false).script()
			if has(lines, "add table") || has(lines, "add chain") {
				t.Errorf("a control's batch declares tables or chains:\n%s", strings.Join(lines, "\n"))
			}
			for _, ch := range []string{"inet gapr blackhole", "inet gapr ingress", "ip gapr4 postrouting", "ip gapr4 prerouting",
				"ip6 gapr6 postrouting", "ip6 gapr6 prerouting"} {
				if !has(lines, "flush chain "+ch) {
					t.Errorf("chain %s is not flushed first", ch)
				}
			}
			for _, w := range tc.want {
				if !has(lines, w...) {
					t.Errorf("no rule with %q in\n%s", w, strings.Join(lines, "\n"))
				}
			}
			for _, a := range tc.absent {
				if has(lines, a...) {
					t.Errorf("a rule with %q in\n%s", a, strings.Join(lines, "\n"))
				}
			}
		})
	}
}

func TestIntervals(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	type elem struct {
		Key string
		End bool
	}
	for _, tc := range []struct {
		in   []netip.Prefix
		want []elem
	}{
		{pfx("10.2.0.0/16", "10.1.0.0/24"), // sorted, a zero end first
			[]elem{{"0.0.0.0", true}, {"10.1.0.0", false}, {"10.1.1.0", true}, {"10.2.0.0", false}, {"10.3.0.0", true}}},
		{pfx("0.0.0.0/8", "255.0.0.0/8"), // no end before the zero address, none after the last
			[]elem{{"0.0.0.0", false}, {"1.0.0.0", true}, {"255.0.0.0", false}}},
		{pfx("fd00:a::1/64", "2001:db8::/32"), // masked
			[]elem{{"::", true}, {"2001:db8::", false}, {"2001:db9::", true}, {"fd00:a::", false}, {"fd00:a:0:1::", true}}},
	} {
		var got []elem
		for _, e := range intervals(tc.in) {
			a, _ := netip.AddrFromSlice(e.Key)
			got = append(got, elem{a.String(), e.IntervalEnd})
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("intervals(%v) (-want +got):\n%s", tc.in, d)
		}
	}
}

func TestNFTRunNoNamespace(t *testing.T) {
	p := newPlan("unit")
	err := p.serverNFT().run(t.Context(), "gapr-no-such-namespace")
	if err == nil || !strings.Contains(err.Error(), "nftables in gapr-no-such-namespace") || !errors.Is(err, unix.ENOENT) {
		t.Errorf("run in a missing namespace: %v", err)
	}
}
