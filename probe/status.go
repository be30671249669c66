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

	// Sources is the health of every source address, in snapshot order.
	Sources []SourceStatus `json:"sources"`
	// Middleboxes are the pairs whose path ends at a TCP-terminating middlebox
	// (PairStats.Intercepted), by source and destination.
	Middleboxes []MiddleboxStatus `json:"middleboxes"`
	// Changed is when any of the above last changed.
	Changed time.Time `json:"changed"`
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
// def_gateway6 null when there is no such gateway.
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status // without the method
	return json.Marshal(struct {
		plain
		Gateway4 *netip.Addr `json:"def_gateway4"`
		Gateway6 *netip.Addr `json:"def_gateway6"`
	}{plain(s), addrOrNil(s.Gateway4), addrOrNil(s.Gateway6)})
}

// addrOrNil returns &a, or nil when a is invalid.
func addrOrNil(a netip.Addr) *netip.Addr {
	if !a.IsValid() {
		return nil
	}
	return &a
}
