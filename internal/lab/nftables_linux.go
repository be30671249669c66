package lab

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The lab programs its routers' nftables over netlink (github.com/google/nftables),
// so that it needs no nft binary. The rules themselves are in firewall_linux.go;
// this file has the batch that carries them and the expressions they are made of,
// each built the way nft compiles the same rule (nft --debug=netlink prints it;
// testdata/nftables holds what it printed for the lab's rules, and the tests
// compare).

// An nftBatch is one nftables transaction in one namespace: tables and chains to
// declare, chains to flush, then rules (each after the anonymous set it looks
// up, if any). It is sent over netlink as a single batch, which the kernel
// applies whole or not at all, like nft -f.
type nftBatch struct {
	tables []*nftables.Table
	chains []*nftables.Chain
	flush  []*nftables.Chain
	rules  []nftRule
	sets   uint32  // anonymous sets allocated so far (their IDs are 1, 2, ...)
	set    *nftSet // allocated by addr for the rule being built; add takes it
}

// An nftRule is a rule and the same rule in nft syntax.
type nftRule struct {
	chain *nftables.Chain
	nft   string  // after "add rule FAMILY TABLE CHAIN "
	set   *nftSet // the anonymous set the rule looks up, or nil
	exprs []expr.Any
}

// An nftSet is an anonymous constant set and its elements.
type nftSet struct {
	set   *nftables.Set
	elems []nftables.SetElement
}

// Registers as nft uses them: the verdict register and the 16-byte data
// registers.
const (
	regVerdict = unix.NFT_REG_VERDICT
	reg1       = unix.NFT_REG_1
	reg2       = unix.NFT_REG_2
)

// table returns the table of family fam called name.
func table(fam nftables.TableFamily, name string) *nftables.Table {
	return &nftables.Table{Family: fam, Name: name}
}

// chain returns a regular chain (no hook), the target of jumps.
func chain(t *nftables.Table, name string) *nftables.Chain {
	return &nftables.Chain{Table: t, Name: name}
}

// baseChain returns a chain of type typ on a hook with policy accept.
func baseChain(t *nftables.Table, name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{Table: t, Name: name, Type: typ, Hooknum: hook, Priority: prio, Policy: &accept}
}

// declare adds the chains, and their tables, to the batch ("add table", "add
// chain": nothing that exists already is changed).
func (b *nftBatch) declare(chains ...*nftables.Chain) {
	for _, c := range chains {
		if !slices.Contains(b.tables, c.Table) {
			b.tables = append(b.tables, c.Table)
		}
		b.chains = append(b.chains, c)
	}
}

// flushChains removes every rule of the chains.
func (b *nftBatch) flushChains(chains ...*nftables.Chain) {
	b.flush = append(b.flush, chains...)
}

// add appends a rule to chain c: nft is the rule in nft syntax (as it would
// follow "add rule FAMILY TABLE CHAIN"), parts its expressions in order.
func (b *nftBatch) add(c *nftables.Chain, nft string, parts ...[]expr.Any) {
	r := nftRule{chain: c, nft: nft, set: b.set}
	b.set = nil
	for _, p := range parts {
		r.exprs = append(r.exprs, p...)
	}
	b.rules = append(b.rules, r)
}

// ifname matches the input (expr.MetaKeyIIFNAME) or output
// (expr.MetaKeyOIFNAME) interface name exactly: nft's `iifname "NAME"`.
func ifname(key expr.MetaKey, name string) []expr.Any {
	data := make([]byte, unix.IFNAMSIZ)
	copy(data, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: data},
	}
}

// An addrField is the source or destination address of the network header.
type addrField int

const (
	saddr addrField = iota
	daddr
)

// offset is the field's offset in the IPv4 (is4) or IPv6 header.
func (f addrField) offset(is4 bool) uint32 {
	switch {
	case is4 && f == saddr:
		return 12
	case is4:
		return 16
	case f == saddr:
		return 8
	}
	return 24
}

// addr matches packets whose address field f is in the prefixes (op
// expr.CmpOpEq) or in none of them (expr.CmpOpNeq): nft's `ip6 saddr P`,
// `ip saddr != { P, Q }`. The prefixes are of one family and do not overlap.
// In an inet table the match first checks the family (meta nfproto). As nft
// does, one prefix is compared directly: the whole bytes it covers are loaded,
// a remainder of bits masked; several prefixes are looked up in an anonymous
// interval set that the next add attaches to its rule.
func (b *nftBatch) addr(t *nftables.Table, f addrField, op expr.CmpOp, ps ...netip.Prefix) []expr.Any {
	is4 := ps[0].Addr().Is4()
	var out []expr.Any
	if t.Family == nftables.TableFamilyINet {
		proto := byte(unix.NFPROTO_IPV6)
		if is4 {
			proto = unix.NFPROTO_IPV4
		}
		out = append(out,
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{proto}})
	}
	if len(ps) > 1 {
		return append(out, b.lookup(t, f, op == expr.CmpOpNeq, ps)...)
	}
	p := ps[0].Masked()
	n := uint32(p.Bits()+7) / 8
	out = append(out, &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: f.offset(is4), Len: n})
	if p.Bits()%8 != 0 {
		mask := make([]byte, n)
		for i := range p.Bits() {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		out = append(out, &expr.Bitwise{SourceRegister: reg1, DestRegister: reg1, Len: n, Mask: mask, Xor: make([]byte, n)})
	}
	return append(out, &expr.Cmp{Op: op, Register: reg1, Data: p.Addr().AsSlice()[:n]})
}

// lookup loads the whole address field and looks it up in a new anonymous
// interval set of the prefixes (inverted: not in it).
func (b *nftBatch) lookup(t *nftables.Table, f addrField, invert bool, ps []netip.Prefix) []expr.Any {
	is4 := ps[0].Addr().Is4()
	key := nftables.TypeIP6Addr
	if is4 {
		key = nftables.TypeIPAddr
	}
	b.sets++
	s := &nftables.Set{Table: t, ID: b.sets, Name: "__set%d", Anonymous: true, Constant: true, Interval: true, KeyType: key}
	b.set = &nftSet{set: s, elems: intervals(ps)}
	return []expr.Any{
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: f.offset(is4), Len: key.Bytes},
		&expr.Lookup{SourceRegister: reg1, SetName: s.Name, SetID: s.ID, Invert: invert},
	}
}

// intervals returns the elements of an interval set holding the prefixes, as
// nft sends them: sorted, each prefix a start and an interval end one past its
// last address, and an interval end at the zero address first (nothing below
// the first prefix is in the set).
func intervals(ps []netip.Prefix) []nftables.SetElement {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	zero := netip.IPv6Unspecified()
	if ps[0].Addr().Is4() {
		zero = netip.IPv4Unspecified()
	}
	var out []nftables.SetElement
	if ps[0].Masked().Addr() != zero {
		out = append(out, nftables.SetElement{Key: zero.AsSlice(), IntervalEnd: true})
	}
	for _, p := range ps {
		out = append(out, nftables.SetElement{Key: p.Masked().Addr().AsSlice()})
		if next := lastAddr(p).Next(); next.IsValid() {
			out = append(out, nftables.SetElement{Key: next.AsSlice(), IntervalEnd: true})
		}
	}
	return out
}

// lastAddr is the last address of prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(a)*8; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	last, _ := netip.AddrFromSlice(a)
	return last
}

// natPrefix maps the source (expr.NATTypeSourceNAT) or destination address
// onto prefix to, keeping the host part: nft's `snat ip6 prefix to P`. The
// range is the prefix's first and last address in registers 1 and 2, with
// NF_NAT_RANGE_PREFIX. (expr.NAT's Specified stays false: it would set
// NF_NAT_RANGE_PROTO_SPECIFIED, a port range of zero, and break connections.)
func natPrefix(typ expr.NATType, to netip.Prefix) []expr.Any {
	fam := uint32(unix.NFPROTO_IPV6)
	if to.Addr().Is4() {
		fam = unix.NFPROTO_IPV4
	}
	return []expr.Any{
		&expr.Immediate{Register: reg1, Data: to.Masked().Addr().AsSlice()},
		&expr.Immediate{Register: reg2, Data: lastAddr(to).AsSlice()},
		&expr.NAT{Type: typ, Family: fam, RegAddrMin: reg1, RegAddrMax: reg2, Prefix: true},
	}
}

// tcpDport matches TCP packets to port: nft's `tcp dport PORT`.
func tcpDport(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binary.BigEndian.AppendUint16(nil, port)},
	}
}

// redirectTo is nft's `redirect to :PORT`: destination NAT to the router's
// own address on the input interface, and to port.
func redirectTo(port uint16) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: reg1, Data: binary.BigEndian.AppendUint16(nil, port)},
		&expr.Redir{RegisterProtoMin: reg1, Flags: expr.NF_NAT_RANGE_PROTO_SPECIFIED},
	}
}

// masquerade is nft's `masquerade`: source NAT to the output interface's address.
func masquerade() []expr.Any { return []expr.Any{&expr.Masq{}} }

// drop is the verdict `drop`.
func drop() []expr.Any { return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}} }

// jump is the verdict `jump CHAIN`.
func jump(c *nftables.Chain) []expr.Any {
	return []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: c.Name}}
}

// run sends the batch over a netlink socket opened in namespace ns.
func (b *nftBatch) run(_ context.Context, ns string) error {
	fd, err := unix.Open(netnsDir+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("lab: nftables in %s: %w", ns, &os.PathError{Op: "open", Path: netnsDir + ns, Err: err})
	}
	defer unix.Close(fd)
	c, err := nftables.New(nftables.WithNetNSFd(fd))
	if err == nil {
		err = b.queue(c)
	}
	if err == nil {
		err = c.Flush()
	}
	if err != nil {
		return fmt.Errorf("lab: nftables in %s: %w\nthe batch in nft syntax:\n%s", ns, err, strings.Join(b.script(), "\n"))
	}
	return nil
}

// queue queues the batch's messages on c, in the batch's order.
func (b *nftBatch) queue(c *nftables.Conn) error {
	for _, t := range b.tables {
		c.AddTable(t)
	}
	for _, ch := range b.chains {
		c.AddChain(ch)
	}
	for _, ch := range b.flush {
		c.FlushChain(ch)
	}
	for _, r := range b.rules {
		if r.set != nil {
			if err := c.AddSet(r.set.set, r.set.elems); err != nil {
				return err
			}
		}
		c.AddRule(&nftables.Rule{Table: r.chain.Table, Chain: r.chain, Exprs: r.exprs})
	}
	return nil
}

// script returns the batch in nft syntax, one command a line, as nft -f would
// take it.
func (b *nftBatch) script() []string {
	var out []string
	for _, t := range b.tables {
		out = append(out, "add table "+tableRef(t))
	}
	for _, c := range b.chains {
		out = append(out, strings.TrimSpace("add chain "+chainRef(c)+" "+chainSpec(c)))
	}
	for _, c := range b.flush {
		out = append(out, "flush chain "+chainRef(c))
	}
	for _, r := range b.rules {
		out = append(out, "add rule "+chainRef(r.chain)+" "+r.nft)
	}
	return out
}

// tableRef is "FAMILY NAME" as nft writes a table.
func tableRef(t *nftables.Table) string {
	fam := map[nftables.TableFamily]string{
		nftables.TableFamilyINet: "inet", nftables.TableFamilyIPv4: "ip", nftables.TableFamilyIPv6: "ip6",
	}[t.Family]
	return fam + " " + t.Name
}

// chainRef is "FAMILY TABLE CHAIN".
func chainRef(c *nftables.Chain) string { return tableRef(c.Table) + " " + c.Name }

// chainSpec is a base chain's "{ type T hook H priority P; policy accept; }",
// or "" for a regular chain.
func chainSpec(c *nftables.Chain) string {
	if c.Hooknum == nil {
		return ""
	}
	hook := map[nftables.ChainHook]string{
		unix.NF_INET_PRE_ROUTING: "prerouting", unix.NF_INET_LOCAL_IN: "input", unix.NF_INET_FORWARD: "forward",
		unix.NF_INET_LOCAL_OUT: "output", unix.NF_INET_POST_ROUTING: "postrouting",
	}[*c.Hooknum]
	prio, ok := map[nftables.ChainPriority]string{
		*nftables.ChainPriorityFilter: "filter", *nftables.ChainPriorityNATSource: "srcnat",
		*nftables.ChainPriorityNATDest: "dstnat",
	}[*c.Priority]
	if !ok {
		prio = fmt.Sprint(*c.Priority)
	}
	policy := "accept"
	if c.Policy != nil && *c.Policy == nftables.ChainPolicyDrop {
		policy = "drop"
	}
	return fmt.Sprintf("{ type %s hook %s priority %s; policy %s; }", c.Type, hook, prio, policy)
}
