package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// pairsJSON is the JSON output of "getapr pairs".
type pairsJSON struct {
	Host  string     `json:"host"`
	Port  int        `json:"port"`
	Pairs []pairJSON `json:"pairs"`
}

// pairJSON is one ranked pair.
type pairJSON struct {
	Rank           int            `json:"rank"` // 1 is the best
	Family         string         `json:"family"`
	Src            netip.Addr     `json:"src"` // with zone when link-local
	Interface      string         `json:"interface"`
	Dst            netip.Addr     `json:"dst"`
	Port           uint16         `json:"port"`
	SrcClass       netstate.Class `json:"src_class"`
	DstClass       netstate.Class `json:"dst_class"`
	LatencyMS      float64        `json:"latency_ms"`
	RTTVarMS       float64        `json:"rttvar_ms"`
	Basis          pairs.Basis    `json:"basis"` // measured, inherited or default
	Health         probe.Health   `json:"health"`
	Deprecated     bool           `json:"deprecated"`
	EgressMismatch bool           `json:"egress_mismatch"`
	Middlebox      bool           `json:"middlebox"` // TLS failed after TCP: tried last for TLS
	// Synthesized is, for a pair through a NAT64, the IPv4 address dst stands
	// for; null otherwise.
	Synthesized *netip.Addr `json:"synthesized"`
	Reason      string      `json:"reason"`
}

func toPairJSON(rank int, p pairs.Pair) pairJSON {
	return pairJSON{
		Rank: rank, Family: family(p.Dst.Addr()),
		Src: p.Src.Addr(), Interface: p.Interface, Dst: p.Dst.Addr(), Port: p.Dst.Port(),
		SrcClass: p.SrcClass, DstClass: p.DstClass,
		LatencyMS: msJSON(p.Latency), RTTVarMS: msJSON(p.RTTVar),
		Basis: p.Basis, Health: p.Health,
		Deprecated: p.Deprecated, EgressMismatch: p.EgressMismatch, Middlebox: p.Middlebox, Reason: p.Reason,
		Synthesized: addrOrNull(p.Synthesized),
	}
}

// addrOrNull returns &a, or nil (JSON null) when a is invalid.
func addrOrNull(a netip.Addr) *netip.Addr {
	if !a.IsValid() {
		return nil
	}
	return &a
}

func runPairs(ctx context.Context, c *cli, cmd *command, args []string) error {
	o, pos, err := c.parse(cmd, args, nil)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return badArgs(cmd, "want HOST [PORT], got %d arguments", len(pos))
	}
	// HOST, [HOST] or HOST:PORT, as watch takes them, or HOST PORT.
	d, err := parseDest(pos[0], 443)
	if err == nil {
		err = checkUnicast(d.host)
	}
	if err != nil {
		return usagef("%v", err)
	}
	if len(pos) == 2 {
		if _, _, err := net.SplitHostPort(pos[0]); err == nil {
			return badArgs(cmd, "port given twice: in %q and as %q", pos[0], pos[1])
		}
		if d.port, err = parsePort(pos[1]); err != nil {
			return usagef("%v", err)
		}
	}
	b, err := c.open(ctx, o)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := checkZone(b, d.host); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	stop := c.progress("ranking pairs for " + d.host)
	ps, err := b.Get(ctx, d.host, d.port)
	stop()
	if err != nil {
		return err
	}
	if o.json {
		out := pairsJSON{Host: d.host, Port: d.port, Pairs: make([]pairJSON, 0, len(ps))}
		for i, p := range ps {
			out.Pairs = append(out.Pairs, toPairJSON(i+1, p))
		}
		if err := writeJSON(c.stdout, out); err != nil {
			return err
		}
	} else if len(ps) > 0 {
		printPairs(c.stdout, ps)
	}
	if len(ps) == 0 {
		return fmt.Errorf("no usable (source, destination) pair for %s", d)
	}
	return nil
}

func printPairs(w io.Writer, ps []pairs.Pair) {
	tw := newTable(w)
	fmt.Fprintln(tw, "#\tFAMILY\tSOURCE\tINTERFACE\tDESTINATION\tLATENCY\tBASIS\tHEALTH\tFLAGS\tREASON")
	for i, p := range ps {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1, family(p.Dst.Addr()),
			p.Src.Addr(), orDash(p.Interface), p.Dst, fmtMS(p.Latency), p.Basis, p.Health,
			pairFlags(p), orDash(p.Reason))
	}
	tw.Flush()
}

// pairFlags lists a pair's warnings, "-" when none.
func pairFlags(p pairs.Pair) string {
	var f []string
	if p.Deprecated {
		f = append(f, "deprecated")
	}
	if p.EgressMismatch {
		f = append(f, "egress-mismatch")
	}
	if p.Middlebox {
		f = append(f, "middlebox")
	}
	if p.Synthesized.IsValid() {
		f = append(f, "nat64="+p.Synthesized.String())
	}
	return orDash(strings.Join(f, ","))
}

// lookupJSON is the JSON output of "getapr lookup".
type lookupJSON struct {
	Host    string       `json:"host"`
	Network string       `json:"network"` // ip, ip4 or ip6
	Addrs   []netip.Addr `json:"addrs"`   // best first
}

func runLookup(ctx context.Context, c *cli, cmd *command, args []string) error {
	var v4, v6 bool
	o, pos, err := c.parse(cmd, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&v4, "4", false, "IPv4 addresses only")
		fs.BoolVar(&v6, "6", false, "IPv6 addresses only")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return badArgs(cmd, "want HOST, got %d arguments", len(pos))
	}
	network, err := ipNetwork("ip", v4, v6)
	if err != nil {
		return badArgs(cmd, "%v", err)
	}
	host := unbracket(pos[0])
	if err := checkHost(host); err != nil {
		return usagef("%v", err)
	}
	b, err := c.open(ctx, o)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := checkZone(b, host); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	stop := c.progress("looking up " + host)
	addrs, err := b.LookupNetIP(ctx, network, host)
	stop()
	if err != nil {
		return err
	}
	if o.json {
		if err := writeJSON(c.stdout, lookupJSON{Host: host, Network: network, Addrs: nonNil(addrs)}); err != nil {
			return err
		}
	} else {
		for _, a := range addrs {
			fmt.Fprintln(c.stdout, a)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("no usable address for %s", host)
	}
	return nil
}

// ipNetwork adds the family digit -4 or -6 asks for to base ("ip", "tcp").
func ipNetwork(base string, v4, v6 bool) (string, error) {
	switch {
	case v4 && v6:
		return "", fmt.Errorf("-4 and -6 exclude each other")
	case v4:
		return base + "4", nil
	case v6:
		return base + "6", nil
	}
	return base, nil
}

// nonNil makes an empty list marshal as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
