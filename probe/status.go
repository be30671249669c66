package probe

import (
	"encoding/json"
	"net/netip"
	"time"
)

// Status is the connectivity the library has detected, with the prototype's flags
// under the prototype's JSON keys.
type Status struct {
	GUAOK      bool `json:"GUA_ok"`      // a global IPv6 source reached a destination
	ULAOK      bool `json:"ULA_ok"`      // a ULA source reached a destination
	LLAOK      bool `json:"LLA_ok"`      // a link-local source reached a destination
	IPv4OK     bool `json:"IPv4_ok"`     // an IPv4 source reached a destination
	ULAPresent bool `json:"ULA_present"` // the host has a ULA source
	RFC1918    bool `json:"RFC1918"`     // the host has an RFC 1918 or 100.64/10 source
	NPTv6      bool `json:"NPTv6"`       // a ULA source reached a global destination
	NPTv6Tried bool `json:"NPTv6_tried"` // a ULA source has tried a global destination
	NAT44      bool `json:"NAT44"`       // a private IPv4 source reached a global destination
	NAT44Tried bool `json:"NAT44_tried"` // a private IPv4 source has tried a global destination

	// Gateway4 and Gateway6 are the default gateways; invalid (JSON null) when none.
	Gateway4 netip.Addr `json:"def_gateway4"`
	Gateway6 netip.Addr `json:"def_gateway6"`

	// NAT64 is set when a link has a NAT64 prefix: IPv4 destinations without
	// an IPv4 route are reached through it (pairs synthesizes them).
	NAT64 bool `json:"NAT64"`
	// PREF64 is the NAT64 prefix of the link of the IPv6 default route, else
	// of the first link that has one; invalid (JSON null) when none.
	PREF64 netip.Prefix `json:"PREF64"`
	// PREF64Source says where PREF64 was learned: "ra" (a Router
	// Advertisement, RFC 8781), "dns" (ipv4only.arpa, RFC 7050) or "config";
	// empty (JSON null) when there is none.
	PREF64Source string `json:"PREF64_source"`
	// NAT64Links lists the NAT64 prefix of every link that has one.
	NAT64Links []NAT64Link `json:"nat64_links"`

	// Sources is the health of every source address, in snapshot order.
	Sources []SourceStatus `json:"sources"`
	// Middleboxes are the pairs whose path ends at a TCP-terminating middlebox
	// (PairStats.Intercepted), by source and destination.
	Middleboxes []MiddleboxStatus `json:"middleboxes"`
	// Changed is when any of the above last changed.
	Changed time.Time `json:"changed"`
}

// NAT64Link is the NAT64 prefix of one link.
type NAT64Link struct {
	Interface string       `json:"interface"`
	Prefix    netip.Prefix `json:"prefix"`
	Source    string       `json:"source"`           // "ra", "dns" or "config"
	Router    netip.Addr   `json:"router,omitzero"`  // the router that advertised it (ra)
	Expires   time.Time    `json:"expires,omitzero"` // unless refreshed (ra)
}

// SourceStatus is the health of one source address.
type SourceStatus struct {
	Addr      netip.Addr `json:"addr"`
	Interface string     `json:"interface"`
	Class     string     `json:"class"`
	Health    Health     `json:"health"`
	Since     time.Time  `json:"since"`               // when Health last changed
	Failures  int        `json:"failures"`            // consecutive path failures
	NextCheck time.Time  `json:"next_check,omitzero"` // for a dead source: its next re-check
}

// MarshalJSON encodes s under the prototype's keys, with def_gateway4 and
// def_gateway6 null when there is no such gateway, and PREF64 and
// PREF64_source null when there is no NAT64 prefix.
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status // without the method
	var pref *netip.Prefix
	var src *string
	if s.PREF64.IsValid() {
		pref, src = &s.PREF64, &s.PREF64Source
	}
	return json.Marshal(struct {
		plain
		Gateway4     *netip.Addr   `json:"def_gateway4"`
		Gateway6     *netip.Addr   `json:"def_gateway6"`
		PREF64       *netip.Prefix `json:"PREF64"`
		PREF64Source *string       `json:"PREF64_source"`
	}{plain(s), addrOrNil(s.Gateway4), addrOrNil(s.Gateway6), pref, src})
}

// addrOrNil returns &a, or nil when a is invalid.
func addrOrNil(a netip.Addr) *netip.Addr {
	if !a.IsValid() {
		return nil
	}
	return &a
}
