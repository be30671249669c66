package netstate

import (
	"context"
	"net/netip"
	"time"
)

// AddrFlags are the kernel's flags on an address that matter for choosing a source.
type AddrFlags uint8

// The address flags (IFA_F_* on Linux).
const (
	Deprecated AddrFlags = 1 << iota // preferred lifetime over, or optimistic DAD (RFC 6724 source rule 3)
	Tentative                        // duplicate address detection still running
	Temporary                        // privacy address (RFC 8981, RFC 6724 source rule 7)
	DADFailed                        // duplicate address detection failed
)

// Forever is the lifetime of an address that does not expire.
const Forever time.Duration = 1<<63 - 1

// Addr is one address configured on an interface.
type Addr struct {
	// IP is the address. An IPv6 link-local address carries its zone: the
	// interface name.
	IP netip.Addr
	// Bits is the prefix length.
	Bits int
	// Index and Interface identify the interface the address is on.
	Index     int
	Interface string
	// Flags are the kernel's flags on the address.
	Flags AddrFlags
	// PreferredLifetime and ValidLifetime are the remaining lifetimes at the time
	// the snapshot was taken; Forever when the address does not expire.
	PreferredLifetime time.Duration
	ValidLifetime     time.Duration
}

// Prefix returns the on-link prefix of the address, without zone.
func (a Addr) Prefix() netip.Prefix {
	p, _ := a.IP.WithZone("").Prefix(a.Bits)
	return p
}

// Class returns Classify(a.IP).
func (a Addr) Class() Class { return Classify(a.IP) }

// Has reports whether all of flags are set on a.
func (a Addr) Has(flags AddrFlags) bool { return a.Flags&flags == flags }

// Usable reports whether a can be bound as a source now: it is a unicast source
// class other than loopback and is neither tentative nor DAD-failed. Deprecated
// addresses are usable (they rank last).
func (a Addr) Usable() bool {
	c := a.Class()
	return c != NotSource && c != Loopback && a.Flags&(Tentative|DADFailed) == 0
}

// Link is one network interface.
type Link struct {
	Index int
	Name  string
	// Up is the administrative state (IFF_UP).
	Up bool
	// Running is the operational state: carrier present and ready (IFF_RUNNING, oper up).
	Running  bool
	Loopback bool
	MTU      int
}

// RouteType is the kind of a route.
type RouteType uint8

// Route types (RTN_* on Linux).
const (
	Unicast RouteType = iota
	Local
	Unreachable
	Prohibit
	Blackhole
	Throw
	OtherRoute
)

// Route is one route from the main routing table (or from the table a rule selects).
type Route struct {
	Dst     netip.Prefix // 0.0.0.0/0 or ::/0 for a default route
	Gateway netip.Addr   // invalid for on-link routes; IPv6 link-local carries its zone
	Index   int          // outgoing interface, 0 if none
	Src     netip.Addr   // preferred source, if the route sets one
	// From restricts an IPv6 route to the sources inside it ("ip route add
	// default from P via R": source-specific routing, RFC 8678, as OpenWrt
	// installs one default per upstream prefix); invalid for all sources.
	From     netip.Prefix
	Table    uint32 // routing table; 0 is read as main (254)
	Priority uint32 // metric; lower wins
	Type     RouteType
	// Preference is an IPv6 route's RFC 4191 router preference, from the
	// Router Advertisement that made it: 1 high, 0 medium (and routes not
	// from an RA), -1 low. Among routes of equal metric the kernel prefers
	// the higher.
	Preference int8
}

// RuleAction is what a policy rule does when it matches.
type RuleAction uint8

// Rule actions (FR_ACT_* on Linux). The zero value, RuleLookup, looks up a table.
const (
	RuleLookup      RuleAction = iota // look the destination up in Rule.Table
	RuleUnreachable                   // fail with "unreachable"
	RuleProhibit                      // fail with "prohibited"
	RuleBlackhole                     // drop silently
	RuleOther                         // goto, nop, rules by user, protocol or port, and others; skipped when evaluating
)

// Rule is one policy routing rule ("ip rule") as it applies to locally
// generated traffic: a firewall mark selector is read for a plain socket's
// mark, 0, and an input interface selector for lo (a rule they fail is left
// out; an inverted rule they fail matches all). A rule that selects by more
// than the addresses (a user, a protocol, ports, an output interface) is kept
// with Action RuleOther: not evaluated, but there, so that a change of it is a
// change of the host.
type Rule struct {
	// Is6 tells the family: false for IPv4 rules, true for IPv6 rules.
	Is6 bool
	// Priority orders the rules; lower is evaluated first.
	Priority uint32
	// Src and Dst select the packets; an invalid (zero) prefix matches all.
	Src, Dst netip.Prefix
	// Invert makes the rule match the packets Src and Dst do not select
	// ("ip rule add not from P").
	Invert bool
	// Table is the table to look up when Action is RuleLookup; 0 is read as main.
	Table  uint32
	Action RuleAction
	// Suppress, when true, makes a lookup ignore routes whose prefix length is
	// SuppressPrefixLen or less ("suppress_prefixlength N"); false ignores none.
	Suppress          bool
	SuppressPrefixLen int
}

// Snapshot is the host as it was at one moment. A Snapshot is immutable once
// published: callers must not modify it or its slices.
type Snapshot struct {
	// Generation increases by one each time the host changes.
	Generation uint64
	// Taken is when the snapshot was built.
	Taken time.Time
	Links []Link
	// Addrs are the addresses on all interfaces except loopback ones, in a stable
	// order (interface index, then address).
	Addrs []Addr
	// Routes are the unicast and reject routes of the main table and of the
	// per-source tables selected by policy rules.
	Routes []Route
	// Rules are the policy rules, in kernel order. A family without rules looks
	// every destination up in the main table.
	Rules []Rule
	// PREF64s are the NAT64 prefixes that Router Advertisements gave the links
	// (RFC 8781; PREF64RA), at most one per link, sorted by link; empty where
	// the system does not hand RA options to user space.
	PREF64s []PREF64
	// Gateway4 and Gateway6 are the preferred default gateways (lowest metric);
	// invalid when there is none. Gateway6 carries its zone when link-local.
	Gateway4, Gateway6 netip.Addr
	// Neighbors are the neighbour-cache entries of the default routers (the
	// gateways of the default routes in Routes), sorted by interface and address;
	// a router without an entry is left out. Empty where the system does not
	// report them. A Monitor publishes no new snapshot when a router only moves
	// between usable states (Usable): State is then that of the last snapshot
	// published.
	Neighbors []Neighbor
}

// Link returns the link with the given index.
func (s *Snapshot) Link(index int) (Link, bool) {
	for _, l := range s.Links {
		if l.Index == index {
			return l, true
		}
	}
	return Link{}, false
}

// Addr returns the configured address equal to ip. When ip carries a zone, only
// the address on that interface (by name or index) matches, so the same link-local
// address on two interfaces is told apart; without a zone the first match wins.
func (s *Snapshot) Addr(ip netip.Addr) (Addr, bool) {
	zoned := ip.Zone() != ""
	index, known := s.zoneIndex(ip)
	if zoned && !known {
		return Addr{}, false
	}
	bare := ip.WithZone("")
	for _, a := range s.Addrs {
		if a.IP.WithZone("") == bare && (!zoned || a.Index == index) {
			return a, true
		}
	}
	return Addr{}, false
}

// Sources returns the usable source addresses (see Addr.Usable) on links that are up.
func (s *Snapshot) Sources() []Addr {
	var out []Addr
	for _, a := range s.Addrs {
		if !a.Usable() {
			continue
		}
		if l, ok := s.Link(a.Index); ok && !l.Up {
			continue
		}
		out = append(out, a)
	}
	return out
}

// Decision is the kernel's route for one (source, destination) pair.
type Decision struct {
	Index     int        // egress interface index
	Interface string     // egress interface name
	Gateway   netip.Addr // next hop; invalid when the destination is on-link
	Src       netip.Addr // the source the kernel would use
}

// Watcher is a live view of the host: the current Snapshot, change notifications and
// the kernel's route decisions. *Monitor is the real one; *Static is a fake for tests.
type Watcher interface {
	// Snapshot returns the current snapshot. It is cheap and never nil.
	Snapshot() *Snapshot
	// Subscribe calls fn with each new snapshot until unsubscribe is called. Calls
	// are made from one goroutine, in generation order; fn must not block long.
	Subscribe(fn func(*Snapshot)) (unsubscribe func())
	// RouteFor asks the kernel how a packet from src to dst would leave. It returns
	// a *RouteError when the kernel would not send it.
	RouteFor(ctx context.Context, src, dst netip.Addr) (Decision, error)
	// Close stops the watcher and waits for its goroutines. It is idempotent.
	Close() error
}
