package lab

import (
	"hash/fnv"
	"net/netip"
	"time"

	"github.com/getapr/getapr/internal/svcb"
)

// The roles of the lab's namespaces, the last part of their names.
const (
	roleClient = "client"
	roleRelayA = "relaya"
	roleRelayB = "relayb"
	roleISPA   = "ispa"
	roleISPB   = "ispb"
	roleCore   = "core"
	roleServer = "server"
)

// roles lists every namespace role in bring-up order.
func roles() []string {
	return []string{roleClient, roleRelayA, roleRelayB, roleISPA, roleISPB, roleCore, roleServer}
}

// Interface names inside the namespaces.
const (
	ifRelayClient = "cli"   // relay port towards the client
	ifRelayISP    = "isp"   // relay port towards the ISP router
	ifISPDown     = "lan"   // ISP router port towards the client (through the relay)
	ifISPUp       = "wan"   // ISP router port towards the core
	ifCoreServer  = "srv"   // core port towards the server
	ifServer      = "eth0"  // the server's only port
	ifNAT64       = "nat64" // tayga's TUN device in the NAT64 ISP
)

// Default round-trip times of the two uplinks.
const (
	defaultRTTA = 20 * time.Millisecond
	defaultRTTB = 60 * time.Millisecond
)

// Server facts that do not depend on the lab's name.
const (
	zoneDomain     = "getapr.test"
	zoneName       = zoneDomain + "."
	echoPort       = 80
	tlsPort        = 443
	altTLSPort     = 8443
	echPublicName  = "public." + zoneDomain
	slowAAAADelay  = 300 * time.Millisecond
	dnsAddr        = "127.0.0.53:53"
	policyTableA   = 101
	policyTableB   = 102
	unreachMetric  = 4000
	suppressPref   = 1000
	policyPrefBase = 1010
)

// uplinkPlan is everything about one uplink: the client's side, the relay, the
// ISP router and its link to the core.
type uplinkPlan struct {
	ClientIf string // client interface
	Relay    string // relay role
	ISP      string // ISP role
	CoreIf   string // core interface towards this ISP

	GUA, ULA, IPv4 netip.Prefix // client addresses with their prefix lengths; ULA invalid on B
	ULAOutside     netip.Prefix // the NPTv6 outside prefix for ULA (invalid on B)
	IPv4Outside    netip.Addr   // what the server sees for IPv4

	RouterLL   netip.Addr     // router link-local on the client link (no zone)
	RouterGUA  netip.Prefix   // router's GUA on the client link
	RouterULA  netip.Prefix   // router's ULA on the client link (invalid on B)
	Router4    netip.Prefix   // router's IPv4 on the client link
	Prefixes6  []netip.Prefix // the ISP's space: BCP 38 allows these, policy rules select them
	Prefixes4  []netip.Prefix
	Routed6    []netip.Prefix // what the core routes to this ISP
	Routed4    []netip.Prefix
	UpLL       netip.Addr   // router link-local towards the core
	Up6, Up4   netip.Prefix // router addresses towards the core
	Core6      netip.Prefix // core addresses towards this router
	Core4      netip.Prefix
	Table      int // policy routing table
	Metric     int // default route metric in main (lower = preferred)
	DefaultRTT time.Duration
}

// serverPlan is the server side: the core's server link and the server's
// addresses.
type serverPlan struct {
	Core6, Core4     netip.Prefix
	Host6, Host4     netip.Prefix // the server's own link addresses
	Open6, Refuse6   netip.Addr
	Drop6            netip.Addr
	Open4, Refuse4   netip.Addr
	Drop4            netip.Addr
	ServerLL, CoreLL netip.Addr
}

// nat64Plan is the NAT64 that ISP B runs when the NAT64 control is on: tayga on
// a TUN device, translating Prefix to addresses of Pool (masqueraded behind the
// router's outside address).
type nat64Plan struct {
	Uplink int          // the uplink whose ISP translates
	Prefix netip.Prefix // the PREF64, network-specific (tayga keeps documentation IPv4 out of 64:ff9b::/96)
	Pool   netip.Prefix // tayga's dynamic pool
	Addr4  netip.Addr   // tayga's own IPv4 address, in Pool
}

// plan is the lab's whole address plan and naming; it is derived from the lab's
// name only.
type plan struct {
	Name      string
	Uplinks   [2]uplinkPlan
	Server    serverPlan
	NAT64     nat64Plan
	ClientLL  netip.Addr // the client's link-local on both links
	IndexBase int        // first interface index; every veth end gets IndexBase+k
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func mustAddr(s string) netip.Addr     { return netip.MustParseAddr(s) }

// newPlan returns the plan of the lab called name.
func newPlan(name string) plan {
	h := fnv.New32a()
	h.Write([]byte(name))
	return plan{
		Name: name,
		Uplinks: [2]uplinkPlan{{
			ClientIf: "eth0", Relay: roleRelayA, ISP: roleISPA, CoreIf: "ispa",
			GUA:         mustPrefix("2001:db8:a:1::100/64"),
			ULA:         mustPrefix("fd00:a::100/64"),
			ULAOutside:  mustPrefix("2001:db8:a:f::/64"),
			IPv4:        mustPrefix("10.1.0.100/24"),
			IPv4Outside: mustAddr("198.51.100.1"),
			RouterLL:    mustAddr("fe80::a"),
			RouterGUA:   mustPrefix("2001:db8:a:1::1/64"),
			RouterULA:   mustPrefix("fd00:a::1/64"),
			Router4:     mustPrefix("10.1.0.1/24"),
			Prefixes6:   []netip.Prefix{mustPrefix("2001:db8:a::/48"), mustPrefix("fd00:a::/64")},
			Prefixes4:   []netip.Prefix{mustPrefix("10.1.0.0/24")},
			Routed6:     []netip.Prefix{mustPrefix("2001:db8:a::/48")},
			UpLL:        mustAddr("fe80::1"),
			Up6:         mustPrefix("2001:db8:ff:a::1/64"),
			Up4:         mustPrefix("198.51.100.1/24"),
			Core6:       mustPrefix("2001:db8:ff:a::ff/64"),
			Core4:       mustPrefix("198.51.100.254/24"),
			Table:       policyTableA, Metric: 100, DefaultRTT: defaultRTTA,
		}, {
			ClientIf: "eth1", Relay: roleRelayB, ISP: roleISPB, CoreIf: "ispb",
			GUA:         mustPrefix("2001:db8:b:1::100/64"),
			IPv4:        mustPrefix("203.0.113.100/25"),
			IPv4Outside: mustAddr("203.0.113.100"),
			RouterLL:    mustAddr("fe80::b"),
			RouterGUA:   mustPrefix("2001:db8:b:1::1/64"),
			Router4:     mustPrefix("203.0.113.1/25"),
			Prefixes6:   []netip.Prefix{mustPrefix("2001:db8:b::/48")},
			Prefixes4:   []netip.Prefix{mustPrefix("203.0.113.0/25")},
			Routed6:     []netip.Prefix{mustPrefix("2001:db8:b::/48")},
			Routed4:     []netip.Prefix{mustPrefix("203.0.113.0/25")},
			UpLL:        mustAddr("fe80::1"),
			Up6:         mustPrefix("2001:db8:ff:b::1/64"),
			Up4:         mustPrefix("203.0.113.129/25"),
			Core6:       mustPrefix("2001:db8:ff:b::ff/64"),
			Core4:       mustPrefix("203.0.113.254/25"),
			Table:       policyTableB, Metric: 200, DefaultRTT: defaultRTTB,
		}},
		Server: serverPlan{
			Core6:    mustPrefix("2001:db8:5::1/64"),
			Core4:    mustPrefix("192.0.2.1/24"),
			Host6:    mustPrefix("2001:db8:5::2/64"),
			Host4:    mustPrefix("192.0.2.2/24"),
			Open6:    mustAddr("2001:db8:5::10"),
			Refuse6:  mustAddr("2001:db8:5::11"),
			Drop6:    mustAddr("2001:db8:5::12"),
			Open4:    mustAddr("192.0.2.10"),
			Refuse4:  mustAddr("192.0.2.11"),
			Drop4:    mustAddr("192.0.2.12"),
			ServerLL: mustAddr("fe80::2"),
			CoreLL:   mustAddr("fe80::ff"),
		},
		NAT64: nat64Plan{
			Uplink: 1,
			Prefix: mustPrefix("2001:db8:6464::/96"),
			Pool:   mustPrefix("192.168.255.0/24"),
			Addr4:  mustAddr("192.168.255.1"),
		},
		ClientLL:  mustAddr("fe80::100"),
		IndexBase: 1000 + 16*int(h.Sum32()%(1<<22)),
	}
}

// ns returns the namespace name of a role.
func (p *plan) ns(role string) string { return "gapr-" + p.Name + "-" + role }

// namespaces returns every namespace name of the lab.
func (p *plan) namespaces() []string {
	var out []string
	for _, r := range roles() {
		out = append(out, p.ns(r))
	}
	return out
}

// ulaOutside maps a client ULA to what the server sees through NPTv6: the
// outside prefix with the host part kept.
func (u *uplinkPlan) ulaOutside() netip.Addr {
	if !u.ULA.IsValid() {
		return netip.Addr{}
	}
	in, out := u.ULA.Addr().As16(), u.ULAOutside.Addr().As16()
	bits := u.ULAOutside.Bits()
	for i := range in {
		switch {
		case (i+1)*8 <= bits:
			in[i] = out[i]
		case i*8 < bits:
			mask := byte(0xff) << (8 - (bits - i*8))
			in[i] = out[i]&mask | in[i]&^mask
		}
	}
	return netip.AddrFrom16(in)
}

// uplink returns the exported facts of uplink i with the given RTT.
func (p *plan) uplink(i int, rtt time.Duration) Uplink {
	u := &p.Uplinks[i]
	up := Uplink{
		Interface:   u.ClientIf,
		GUA:         u.GUA.Addr(),
		IPv4:        u.IPv4.Addr(),
		IPv4Outside: u.IPv4Outside,
		Router6:     u.RouterLL.WithZone(u.ClientIf),
		Router4:     u.Router4.Addr(),
		RTT:         rtt,
	}
	if u.ULA.IsValid() {
		up.ULA = u.ULA.Addr()
		up.ULAOutside = u.ulaOutside()
	}
	return up
}

// server returns the exported server facts.
func (p *plan) server() Server {
	s := &p.Server
	return Server{
		Name:           "server." + zoneDomain,
		SlowAAAAName:   "slow-aaaa." + zoneDomain,
		SlowAAAADelay:  slowAAAADelay,
		NoAAAAName:     "no-aaaa." + zoneDomain,
		MultiName:      "multi." + zoneDomain,
		RefuseName:     "refuse." + zoneDomain,
		DropName:       "drop." + zoneDomain,
		NAT64MixedName: "nat64-mixed." + zoneDomain,
		Open6:          s.Open6, Refuse6: s.Refuse6, Drop6: s.Drop6,
		Open4: s.Open4, Refuse4: s.Refuse4, Drop4: s.Drop4,
		Port:              echoPort,
		DNS:               netip.MustParseAddrPort(dnsAddr),
		TLSPort:           tlsPort,
		AltTLSPort:        altTLSPort,
		HTTPSName:         "svc." + zoneDomain,
		HintsName:         "hints." + zoneDomain,
		AliasName:         "alias." + zoneDomain,
		ApexAliasName:     "apex." + zoneDomain,
		PriorityName:      "prio." + zoneDomain,
		H3OnlyName:        "h3." + zoneDomain,
		H2OnlyName:        "h2." + zoneDomain,
		ECHName:           "ech." + zoneDomain,
		ECHPublicName:     echPublicName,
		LateAAAADrop4Name: "late-aaaa." + zoneDomain,
	}
}

// zone returns the DNS records the lab serves; ech is the ECHConfigList the
// ech name's HTTPS record carries.
func (p *plan) zone(ech []byte) *zone {
	s := &p.Server
	z := &zone{origin: zoneName, records: map[string]rrset{}}
	add := func(name string, r rrset) { z.records[name+"."+zoneName] = r }
	open := rrset{aaaa: []netip.Addr{s.Open6}, a: []netip.Addr{s.Open4}}
	drop := rrset{aaaa: []netip.Addr{s.Drop6}, a: []netip.Addr{s.Drop4}}
	h2 := []string{"h2", "http/1.1"}
	with := func(r rrset, https ...svcb.Record) rrset { r.https = https; return r }
	add("server", rrset{aaaa: []netip.Addr{s.Open6}, a: []netip.Addr{s.Open4}})
	add("slow-aaaa", rrset{aaaa: []netip.Addr{s.Open6}, a: []netip.Addr{s.Open4}, aaaaDelay: slowAAAADelay})
	add("no-aaaa", rrset{a: []netip.Addr{s.Open4}})
	add("multi", rrset{aaaa: []netip.Addr{s.Drop6, s.Open6}, a: []netip.Addr{s.Drop4, s.Open4}})
	add("refuse", rrset{aaaa: []netip.Addr{s.Refuse6}, a: []netip.Addr{s.Refuse4}})
	add("drop", rrset{aaaa: []netip.Addr{s.Drop6}, a: []netip.Addr{s.Drop4}})

	// HTTPS records (RFC 9460); see Server for what each name is for.
	hints := svcb.Record{Priority: 1, Target: ".", ALPN: h2, IPv6Hint: []netip.Addr{s.Open6}, IPv4Hint: []netip.Addr{s.Open4}}
	svc := hints
	svc.Port = altTLSPort
	add("svc", with(open, svc))
	late := with(open, hints)
	late.aDelay, late.aaaaDelay = slowAAAADelay, slowAAAADelay
	add("hints", late)
	add("alias", with(drop, svcb.Record{Priority: 0, Target: "svc." + zoneName}))
	add("apex", with(rrset{}, svcb.Record{Priority: 0, Target: "server." + zoneName}))
	add("prio", with(open,
		svcb.Record{Priority: 2, Target: "p2." + zoneName, ALPN: h2},
		svcb.Record{Priority: 1, Target: "p1." + zoneName, ALPN: h2}))
	add("p1", drop)
	add("p2", open)
	add("h3", with(open,
		svcb.Record{Priority: 1, Target: "h3only." + zoneName, ALPN: []string{"h3"}, NoDefaultALPN: true},
		svcb.Record{Priority: 2, Target: ".", ALPN: h2}))
	add("h3only", drop)
	add("h2", with(open,
		svcb.Record{Priority: 1, Target: "h2only." + zoneName, ALPN: []string{"h2"}, NoDefaultALPN: true},
		svcb.Record{Priority: 2, Target: ".", ALPN: h2}))
	add("h2only", drop)
	add("ech", with(open, svcb.Record{Priority: 1, Target: ".", ALPN: h2, ECH: ech}))
	add("late-aaaa", rrset{aaaa: []netip.Addr{s.Open6}, a: []netip.Addr{s.Drop4}, aaaaDelay: slowAAAADelay})
	add("nat64-mixed", rrset{aaaa: []netip.Addr{embed96(p.NAT64.Prefix, s.Open4), s.Open6}, a: []netip.Addr{s.Open4}})
	z.records[ipv4OnlyName] = rrset{a: ipv4OnlyAddrs}
	return z
}
