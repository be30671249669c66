package svcb

import (
	"cmp"
	"math/rand/v2"
	"net/netip"
	"slices"

	"golang.org/x/net/dns/dnsmessage"
)

// Endpoint is one destination to connect to, and the service record it comes
// from.
type Endpoint struct {
	Addr netip.Addr
	Port uint16
	// Group is the rank of the endpoint's service group: every endpoint of a
	// group is to be started before any of the next (HEv3 "Grouping By Service
	// Priority"). Each usable ServiceMode record is a group, in priority order;
	// the origin's own addresses that no record covers come last.
	Group int
	// Service is the record of the endpoint's group; nil for the origin's own
	// addresses without a record.
	Service *Record
	// Target is the name Addr is an address of: the record's effective
	// target, or the origin.
	Target string
	// Hint is set when the address is a record's ipv4hint or ipv6hint, used
	// because the target's A or AAAA answer is not in yet.
	Hint bool
}

// AddrPort returns the endpoint's address and port.
func (e Endpoint) AddrPort() netip.AddrPort { return netip.AddrPortFrom(e.Addr, e.Port) }

// Answers collects the DNS answers of one connection setup in the order they
// arrive: the origin's HTTPS records (AliasMode already followed by the
// caller) and the A and AAAA answers of the origin and of the records'
// targets. The zero value is not usable; see NewAnswers. Its methods are not
// safe for concurrent use.
type Answers struct {
	origin  string   // canonical
	port    uint16   // the origin's port
	client  []string // the client's ALPN ids
	ech     bool     // the client offers ECH (UseECH)
	svcDone bool     // the HTTPS answer is in (or given up on)
	owner   string   // owner of the ServiceMode records
	alias   string   // the last AliasMode target followed; "" for none
	records []Record // usable ServiceMode records, by priority (stable)
	names   map[string]*nameAddrs
}

// nameAddrs is what is known of one name's addresses.
type nameAddrs struct {
	addrs [2][]netip.Addr // [0] IPv4, [1] IPv6
	done  [2]bool         // the A ([0]) or AAAA ([1]) answer is in
	use   [2]bool         // the answer replaces the hints (not a failure)
}

// NewAnswers starts collecting the answers for a connection to origin:port by
// a client that supports the ALPN protocol ids client (see Record.Supports).
func NewAnswers(origin string, port uint16, client []string) *Answers {
	return &Answers{
		origin: CanonicalName(origin),
		port:   port,
		client: slices.Clone(client),
		names:  make(map[string]*nameAddrs),
	}
}

// UseECH says that the client offers ECH with the records' configs: only then
// is a record that makes the ech parameter mandatory usable (RFC 9460 section
// 8: such a service does not work for a client that ignores it). Call it
// before SetServices.
func (a *Answers) UseECH() { a.ech = true }

// Origin returns the origin name, canonical.
func (a *Answers) Origin() string { return a.origin }

// SetServices records the HTTPS answer: the ServiceMode records owned by owner
// (the origin, or the end of its alias chain). Records in AliasMode, records
// the client cannot use (Record.Supports, and those that make ech mandatory
// unless the client uses ECH: see UseECH) and duplicates are left out, and
// past MaxServices the records of the highest priorities. Records of the
// same priority are shuffled. An empty answer, or a failed query, is
// SetServices(origin, nil): the origin's addresses are then the only
// endpoints.
func (a *Answers) SetServices(owner string, records []Record) {
	a.svcDone = true
	a.owner = CanonicalName(owner)
	a.records = nil // a new slice: endpoints handed out point into the old one
	for _, r := range records {
		if r.IsAlias() || !r.Supports(a.client) || (!a.ech && slices.Contains(r.Mandatory, dnsmessage.SVCParamECH)) {
			continue
		}
		a.records = append(a.records, r)
	}
	// Records of one priority in random order (RFC 9460 section 2.4.1: it
	// spreads clients over them), then by priority.
	rand.Shuffle(len(a.records), func(i, j int) { a.records[i], a.records[j] = a.records[j], a.records[i] })
	slices.SortStableFunc(a.records, func(x, y Record) int { return cmp.Compare(x.Priority, y.Priority) })
	a.records = slices.Clip(a.records[:min(len(a.records), MaxServices)])
}

// SetAlias records the last AliasMode target that the HTTPS lookup followed
// (the final $QNAME of RFC 9460 section 3). Its own addresses, at the origin's
// port and without SvcParams, form a group after the records' and before the
// origin's: an alias at a zone apex to a name with addresses but no HTTPS
// records (a CDN's) then still reaches it.
func (a *Answers) SetAlias(target string) {
	if t := CanonicalName(target); t != a.origin {
		a.alias = t
	}
}

// MaxServices is how many usable ServiceMode records SetServices keeps, the
// first by priority: each is a group to rank and may name a target whose
// addresses are looked up, and one 64 KB answer can hold thousands.
const MaxServices = 8

// ECHReliant reports whether a client that uses ECH must not connect without
// it (draft-ietf-tls-svcb-ech: SVCB-reliant): the HTTPS answer is in, and it
// has usable ServiceMode records, each with an ech parameter. The origin's
// addresses that no record covers are then no endpoints for such a client.
func (a *Answers) ECHReliant() bool {
	return a.svcDone && len(a.records) > 0 &&
		!slices.ContainsFunc(a.records, func(r Record) bool { return len(r.ECH) == 0 })
}

// ServicesDone reports whether SetServices was called.
func (a *Answers) ServicesDone() bool { return a.svcDone }

// Services returns the usable ServiceMode records, by priority.
func (a *Answers) Services() []Record { return slices.Clone(a.records) }

// SetAddrs records the A (is6 false) or AAAA answer for name. With failed
// set (the query failed: a timeout, SERVFAIL) the answer counts as in, but the
// name's hints stay in use; otherwise the addresses, possibly none, replace
// the hints (RFC 9460 section 7.3).
func (a *Answers) SetAddrs(name string, is6, failed bool, addrs []netip.Addr) {
	n := a.name(CanonicalName(name))
	f := family(is6)
	n.done[f] = true
	n.use[f] = !failed
	var kept []netip.Addr
	for _, ip := range addrs {
		ip = ip.Unmap()
		if ip.IsValid() && ip.Is6() == is6 {
			kept = append(kept, ip)
		}
	}
	n.addrs[f] = CompactAddrs(kept)
}

// CompactAddrs removes from addrs, in place, every address equal to one before
// it, and returns what is left. Its time is linear in the addresses: an answer
// over TCP may hold thousands.
func CompactAddrs(addrs []netip.Addr) []netip.Addr {
	const small = 16 // up to this many, comparing costs less than hashing
	if len(addrs) <= small {
		out := addrs[:0]
		for _, a := range addrs {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
		return out
	}
	seen := make(map[netip.Addr]struct{}, len(addrs))
	return slices.DeleteFunc(addrs, func(a netip.Addr) bool {
		_, dup := seen[a]
		seen[a] = struct{}{}
		return dup
	})
}

// Answered reports whether name's A (is6 false) or AAAA answer is in.
func (a *Answers) Answered(name string, is6 bool) bool {
	n := a.names[CanonicalName(name)]
	return n != nil && n.done[family(is6)]
}

func (a *Answers) name(name string) *nameAddrs {
	n := a.names[name]
	if n == nil {
		n = &nameAddrs{}
		a.names[name] = n
	}
	return n
}

func family(is6 bool) int {
	if is6 {
		return 1
	}
	return 0
}

// Targets returns the names whose A and AAAA answers the endpoints need: the
// origin first, then the records' effective targets in priority order, then
// the alias target (see SetAlias), each once.
func (a *Answers) Targets() []string {
	out := []string{a.origin}
	for _, r := range a.records {
		if t := r.EffectiveTarget(a.owner); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if a.alias != "" && !slices.Contains(out, a.alias) {
		out = append(out, a.alias)
	}
	return out
}

// Endpoints returns the endpoints known now, in group order; within a group
// the IPv6 addresses come first, each family in the answer's (or hint's)
// order. An address and port appears once, in its best group. After the
// records' groups come the alias target's addresses (see SetAlias), then the
// origin's own, both at the origin's port and without a record, less those
// an earlier group gave at that port.
func (a *Answers) Endpoints() []Endpoint {
	var out []Endpoint
	seen := make(map[netip.AddrPort]bool)
	add := func(e Endpoint) {
		if !seen[e.AddrPort()] {
			seen[e.AddrPort()] = true
			out = append(out, e)
		}
	}
	group := 0
	for i := range a.records {
		r := &a.records[i]
		port := cmp.Or(r.Port, a.port)
		target := r.EffectiveTarget(a.owner)
		n := a.names[target]
		for _, f := range []int{1, 0} {
			hints := r.IPv4Hint
			if f == 1 {
				hints = r.IPv6Hint
			}
			ips, hint := hints, true
			if n != nil && n.use[f] {
				ips, hint = n.addrs[f], false
			}
			for _, ip := range ips {
				add(Endpoint{Addr: ip, Port: port, Group: group, Service: r, Target: target, Hint: hint})
			}
		}
		group++
	}
	// Then the final $QNAME's addresses, and last the authority endpoint's,
	// both at the origin's port and without SvcParams (RFC 9460 section 3).
	// A group's number does not change when an answer comes in.
	for _, name := range []string{a.alias, a.origin} {
		if name == "" {
			continue
		}
		if n := a.names[name]; n != nil {
			for _, f := range []int{1, 0} {
				for _, ip := range n.addrs[f] {
					add(Endpoint{Addr: ip, Port: a.port, Group: group, Target: name})
				}
			}
		}
		group++
	}
	return out
}

// Ready reports whether connecting can start without waiting for the
// Resolution Delay (HEv3 "Handling DNS Answers Asynchronously"): there are
// endpoints, the HTTPS answer is in, and the best service group has an
// answer of the preferred family (IPv6 when prefer6), positive or negative,
// or a hint of that family (hints count as positive answers). The best group
// is that of the first usable record, whose target's addresses may still be
// on their way while the origin's are in; without records it is the alias
// target's (see SetAlias), else the origin's.
func (a *Answers) Ready(prefer6 bool) bool {
	if !a.svcDone || len(a.Endpoints()) == 0 {
		return false
	}
	name := cmp.Or(a.alias, a.origin)
	if len(a.records) > 0 {
		r := &a.records[0]
		hints := r.IPv4Hint
		if prefer6 {
			hints = r.IPv6Hint
		}
		if len(hints) > 0 {
			return true
		}
		name = r.EffectiveTarget(a.owner)
	}
	if n := a.names[name]; n != nil && len(n.addrs[family(prefer6)]) > 0 {
		return true
	}
	return a.Answered(name, prefer6)
}
