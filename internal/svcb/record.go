package svcb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"golang.org/x/net/dns/dnsmessage"
)

// DefaultALPN is the protocol an HTTPS record's endpoint supports without
// saying so, unless it carries no-default-alpn (RFC 9460 section 7.1.2).
const DefaultALPN = "http/1.1"

// Record is one SVCB or HTTPS record, its parameters decoded.
type Record struct {
	// Priority is the SvcPriority: 0 is AliasMode, otherwise ServiceMode, lower
	// first.
	Priority uint16
	// Target is the TargetName, lower case with the final dot; "." is the
	// record's owner in ServiceMode, and "no such service" in AliasMode.
	Target string
	// ALPN is the alpn parameter's protocol ids, in the record's order; nil
	// when absent.
	ALPN []string
	// NoDefaultALPN is set by no-default-alpn: DefaultALPN is not in the set.
	NoDefaultALPN bool
	// Port is the port parameter; 0 when absent (the origin's port applies).
	Port uint16
	// IPv4Hint and IPv6Hint are the address hints; nil when absent.
	IPv4Hint, IPv6Hint []netip.Addr
	// ECH is the ech parameter, an ECHConfigList; nil when absent.
	ECH []byte
	// Mandatory lists the keys the record says a client must understand.
	Mandatory []dnsmessage.SVCParamKey
}

// IsAlias reports whether r is an AliasMode record.
func (r Record) IsAlias() bool { return r.Priority == 0 }

// EffectiveTarget returns the name whose addresses r's endpoints have: the
// target, or owner when the target is "." (RFC 9460 section 2.5.2). owner is
// normalised the way Parse normalises targets.
func (r Record) EffectiveTarget(owner string) string {
	if r.Target == "." {
		return CanonicalName(owner)
	}
	return r.Target
}

// ALPNSet returns the record's SVCB ALPN set (RFC 9460 section 7.1.2): its
// alpn ids, plus DefaultALPN unless no-default-alpn is present.
func (r Record) ALPNSet() []string {
	set := slices.Clone(r.ALPN)
	if !r.NoDefaultALPN && !slices.Contains(set, DefaultALPN) {
		set = append(set, DefaultALPN)
	}
	return set
}

// Supports reports whether a client supporting the protocols client can use
// r: the client understands every mandatory key (Understood), and r's ALPN set
// has a protocol the client supports. An empty client list means an HTTP
// client that has not said: it supports DefaultALPN and "h2", as Go's
// net/http does.
func (r Record) Supports(client []string) bool {
	for _, k := range r.Mandatory {
		if !Understood(k) {
			return false
		}
	}
	if len(client) == 0 {
		client = []string{"h2", DefaultALPN}
	}
	set := r.ALPNSet()
	return slices.ContainsFunc(client, func(p string) bool { return slices.Contains(set, p) })
}

// Understood reports whether this package decodes the parameter k and the
// code that uses it acts on it.
func Understood(k dnsmessage.SVCParamKey) bool {
	switch k {
	case dnsmessage.SVCParamMandatory, dnsmessage.SVCParamALPN, dnsmessage.SVCParamNoDefaultALPN,
		dnsmessage.SVCParamPort, dnsmessage.SVCParamIPv4Hint, dnsmessage.SVCParamECH,
		dnsmessage.SVCParamIPv6Hint:
		return true
	}
	return false
}

// CanonicalName returns name with ASCII letters in lower case (DNS names
// compare so, RFC 4343; other bytes are kept as they are) and a final dot; ""
// stays "".
func CanonicalName(name string) string {
	if name == "" {
		return ""
	}
	b := []byte(name)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	if b[len(b)-1] != '.' {
		b = append(b, '.')
	}
	return string(b)
}

// A ParseError says why a record's data is malformed. RFC 9460 section 2.4.3
// says a client ignores such a record.
type ParseError struct {
	Key dnsmessage.SVCParamKey
	Msg string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("svcb: malformed %s parameter: %s", keyName(e.Key), e.Msg)
}

// keyName is the presentation name of k (RFC 9460 section 14.3.2).
func keyName(k dnsmessage.SVCParamKey) string {
	names := [...]string{"mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech", "ipv6hint"}
	if int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("key%d", uint16(k))
}

// errNotIncreasing is the error of parameters out of order. dnsmessage already
// rejects such records; Parse checks again for records built in code.
var errNotIncreasing = errors.New("svcb: parameter keys not in increasing order")

// Parse decodes a record's parameters following RFC 9460 sections 7 and 8.
// In AliasMode the parameters are ignored (section 2.4.2). An error means a
// malformed record, which the caller should ignore.
func Parse(res dnsmessage.SVCBResource) (Record, error) {
	r := Record{Priority: res.Priority, Target: CanonicalName(res.Target.String())}
	if r.Target == "" {
		r.Target = "."
	}
	if r.IsAlias() {
		return r, nil
	}
	for i, p := range res.Params {
		if i > 0 && p.Key <= res.Params[i-1].Key {
			return Record{}, errNotIncreasing
		}
		if err := r.set(p.Key, p.Value); err != nil {
			return Record{}, err
		}
	}
	if err := r.checkMandatory(res.Params); err != nil {
		return Record{}, err
	}
	if r.NoDefaultALPN && r.ALPN == nil {
		return Record{}, &ParseError{dnsmessage.SVCParamNoDefaultALPN, "without alpn"}
	}
	return r, nil
}

// set decodes one parameter into r. Keys it does not know are left alone.
func (r *Record) set(k dnsmessage.SVCParamKey, v []byte) error {
	var err error
	switch k {
	case dnsmessage.SVCParamMandatory:
		r.Mandatory, err = parseKeys(v)
	case dnsmessage.SVCParamALPN:
		r.ALPN, err = parseALPN(v)
	case dnsmessage.SVCParamNoDefaultALPN:
		if len(v) != 0 {
			err = errors.New("value not empty")
		}
		r.NoDefaultALPN = true
	case dnsmessage.SVCParamPort:
		if len(v) != 2 {
			err = fmt.Errorf("%d bytes, want 2", len(v))
		}
		if err == nil {
			r.Port = binary.BigEndian.Uint16(v)
		}
	case dnsmessage.SVCParamIPv4Hint:
		r.IPv4Hint, err = parseAddrs(v, 4)
	case dnsmessage.SVCParamIPv6Hint:
		r.IPv6Hint, err = parseAddrs(v, 16)
	case dnsmessage.SVCParamECH:
		if len(v) == 0 {
			err = errors.New("empty")
		}
		r.ECH = slices.Clone(v)
	}
	if err != nil {
		if pe, ok := err.(*ParseError); ok {
			return pe
		}
		return &ParseError{k, err.Error()}
	}
	return nil
}

// parseKeys decodes the mandatory list (RFC 9460 section 8): keys in strictly
// increasing order, not mandatory itself.
func parseKeys(v []byte) ([]dnsmessage.SVCParamKey, error) {
	if len(v) == 0 || len(v)%2 != 0 {
		return nil, fmt.Errorf("%d bytes, want a positive even number", len(v))
	}
	keys := make([]dnsmessage.SVCParamKey, 0, len(v)/2)
	for i := 0; i < len(v); i += 2 {
		k := dnsmessage.SVCParamKey(binary.BigEndian.Uint16(v[i:]))
		if k == dnsmessage.SVCParamMandatory {
			return nil, errors.New("lists mandatory")
		}
		if len(keys) > 0 && k <= keys[len(keys)-1] {
			return nil, errors.New("keys not in increasing order")
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// checkMandatory checks that every key listed as mandatory is in the record
// (RFC 9460 section 8).
func (r *Record) checkMandatory(params []dnsmessage.SVCParam) error {
	for _, k := range r.Mandatory {
		if !slices.ContainsFunc(params, func(p dnsmessage.SVCParam) bool { return p.Key == k }) {
			return &ParseError{dnsmessage.SVCParamMandatory, keyName(k) + " listed but absent"}
		}
	}
	return nil
}

// maxALPNIDs bounds the protocol ids of an alpn parameter. Real records list a
// few; the bound keeps a 64 KB answer from making tens of thousands, which
// every pair of the record's endpoints would carry.
const maxALPNIDs = 32

// parseALPN decodes alpn (RFC 9460 section 7.1.1): length-prefixed,
// non-empty protocol ids, at least one and at most maxALPNIDs.
func parseALPN(v []byte) ([]string, error) {
	if len(v) == 0 {
		return nil, errors.New("empty")
	}
	var ids []string
	for len(v) > 0 {
		n := int(v[0])
		if n == 0 || n+1 > len(v) {
			return nil, errors.New("bad protocol id length")
		}
		if len(ids) == maxALPNIDs {
			return nil, fmt.Errorf("more than %d protocol ids", maxALPNIDs)
		}
		ids = append(ids, string(v[1:1+n]))
		v = v[1+n:]
	}
	return ids, nil
}

// maxHints bounds the addresses kept of an ipv4hint or ipv6hint parameter.
// Real records give a few; one parameter may hold 16,000 in a 64 KB answer,
// each a destination to rank and race.
const maxHints = 32

// parseAddrs decodes ipv4hint (size 4) or ipv6hint (size 16): one or more
// addresses (RFC 9460 section 7.3), of which it keeps the first maxHints. An
// IPv4-mapped address in an ipv6hint is not of the hint's family: it is left
// out (nil when none is left).
func parseAddrs(v []byte, size int) ([]netip.Addr, error) {
	if len(v) == 0 || len(v)%size != 0 {
		return nil, fmt.Errorf("%d bytes, want a positive multiple of %d", len(v), size)
	}
	var out []netip.Addr
	for i := 0; i < len(v) && len(out) < maxHints; i += size {
		if a, _ := netip.AddrFromSlice(v[i : i+size]); !a.Is4In6() {
			out = append(out, a)
		}
	}
	return out, nil
}

// Resource returns r as dnsmessage sends it: the inverse of Parse for
// ServiceMode records, with the parameters in key order. It serves servers
// and tests; a Target of "." becomes the root name.
func (r Record) Resource() (dnsmessage.SVCBResource, error) {
	target, err := dnsmessage.NewName(r.Target)
	if err != nil {
		return dnsmessage.SVCBResource{}, err
	}
	res := dnsmessage.SVCBResource{Priority: r.Priority, Target: target}
	if r.IsAlias() {
		return res, nil
	}
	if len(r.Mandatory) > 0 {
		var v []byte
		for _, k := range r.Mandatory {
			v = binary.BigEndian.AppendUint16(v, uint16(k))
		}
		res.SetParam(dnsmessage.SVCParamMandatory, v)
	}
	if r.ALPN != nil {
		var v []byte
		for _, id := range r.ALPN {
			if len(id) == 0 || len(id) > 255 {
				return dnsmessage.SVCBResource{}, &ParseError{dnsmessage.SVCParamALPN, "bad protocol id length"}
			}
			v = append(append(v, byte(len(id))), id...)
		}
		res.SetParam(dnsmessage.SVCParamALPN, v)
	}
	if r.NoDefaultALPN {
		res.SetParam(dnsmessage.SVCParamNoDefaultALPN, []byte{})
	}
	if r.Port != 0 {
		res.SetParam(dnsmessage.SVCParamPort, binary.BigEndian.AppendUint16(nil, r.Port))
	}
	if len(r.IPv4Hint) > 0 {
		res.SetParam(dnsmessage.SVCParamIPv4Hint, appendAddrs(nil, r.IPv4Hint, true))
	}
	if len(r.ECH) > 0 {
		res.SetParam(dnsmessage.SVCParamECH, r.ECH)
	}
	if len(r.IPv6Hint) > 0 {
		res.SetParam(dnsmessage.SVCParamIPv6Hint, appendAddrs(nil, r.IPv6Hint, false))
	}
	return res, nil
}

func appendAddrs(b []byte, addrs []netip.Addr, v4 bool) []byte {
	for _, a := range addrs {
		if v4 {
			a4 := a.As4()
			b = append(b, a4[:]...)
		} else {
			a16 := a.As16()
			b = append(b, a16[:]...)
		}
	}
	return b
}
