package dnsstub

import (
	"context"
	"net"
	"strconv"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/getapr/getapr/internal/svcb"
)

// Service is the outcome of an HTTPS lookup: the ServiceMode records of the
// origin, after its AliasMode chain.
type Service struct {
	// Name is the query name that answered: the origin (with a search
	// suffix if the search list gave it), port-prefixed for a port other
	// than 443.
	Name string
	// Owner owns Records: Name, or the end of its CNAME and alias chain. A
	// ServiceMode target of "." means Owner (svcb.Record.EffectiveTarget).
	Owner string
	// Records are the ServiceMode records, in the reply's order; none when
	// the origin has no HTTPS records, or its alias says "no service".
	Records []svcb.Record
	// Alias is the last AliasMode target followed, canonical: the final
	// $QNAME of RFC 9460 section 3, whose own addresses are an endpoint
	// even when it has no ServiceMode records. It is empty when no AliasMode
	// record was followed, or the chain ended in "." (no such service) or in
	// a loop.
	Alias string
}

// QueryName returns the HTTPS query name for host and port (RFC 9460
// section 9.1): host itself for port 443 (or 0, meaning the default),
// "_PORT._https.host" for any other.
func QueryName(host string, port int) string {
	if port == 0 || port == 443 {
		return host
	}
	return "_" + strconv.Itoa(port) + "._https." + host
}

// LookupHTTPS looks up the HTTPS records of an origin, host and port,
// following the search list for a relative host (the first name that exists
// wins), CNAMEs, and AliasMode records to their targets (at most maxChain
// links; a loop, or an alias to ".", ends with no records). A name that does
// not exist under any suffix is a Service without records and no error. The
// error, a *net.DNSError, is the last failure when no server answered; when
// that was an alias target's lookup, the Service so far, its Alias set, comes
// with it.
func (c *Client) LookupHTTPS(ctx context.Context, host string, port int) (*Service, error) {
	names := c.Config.NameList(QueryName(host, port))
	if len(names) == 0 {
		return nil, &net.DNSError{Err: "invalid name", Name: host, IsNotFound: true}
	}
	var lastErr error
	for _, name := range names {
		r, err := c.Exchange(ctx, name, dnsmessage.TypeHTTPS)
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if r.RCode == dnsmessage.RCodeNameError {
			continue
		}
		return c.follow(ctx, name, r)
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return &Service{Name: svcb.CanonicalName(QueryName(host, port)), Owner: svcb.CanonicalName(QueryName(host, port))}, nil
}

// follow reads the records at the end of name's CNAME chain in r, and
// follows AliasMode records (RFC 9460 section 2.4.2): if the set has one, its
// ServiceMode records are ignored and the alias target is asked.
func (c *Client) follow(ctx context.Context, name string, r *Reply) (*Service, error) {
	s := &Service{Name: name}
	seen := map[string]bool{}
	for range maxChain {
		owner := r.Canonical(name)
		s.Owner = owner
		recs := r.Records[owner]
		alias := -1
		for i, rec := range recs {
			if rec.IsAlias() {
				alias = i
				break
			}
		}
		if alias < 0 {
			s.Records = recs
			return s, nil
		}
		target := recs[alias].Target
		if target == "." || seen[target] {
			s.Alias = ""
			return s, nil // "no such service", or a loop
		}
		seen[owner], seen[target] = true, true
		s.Alias = svcb.CanonicalName(target)
		var err error
		if r, err = c.Exchange(ctx, target, dnsmessage.TypeHTTPS); err != nil {
			s.Owner = s.Alias
			return s, err
		}
		name = target
	}
	s.Owner = name
	return s, nil
}
