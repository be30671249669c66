package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"go.uber.org/zap"
)

// DefaultAtlasURL is the RIPE Atlas REST API's list of anchors.
const DefaultAtlasURL = "https://atlas.ripe.net/api/v2/anchors/"

// Defaults of AtlasConfig.
const (
	DefaultAtlasRefresh  = 10 * time.Minute
	DefaultAtlasMaxPages = 10
	atlasRetry           = time.Minute // wait after a failed fetch
	atlasFetchTimeout    = time.Minute
	atlasMaxPageSize     = 4 << 20 // bytes of one page read at most
	atlasMaxAnchors      = 4096    // anchors kept from one fetch, over all pages
	atlasMaxRedirects    = 3       // redirects followed for one page
	atlasMaxField        = 253     // bytes of an anchor's name, country or city
)

// AtlasConfig turns on RIPE Atlas anchors as probe targets: one IPv6 and one IPv4
// anchor, picked at random from the anchors API and picked anew every Refresh.
type AtlasConfig struct {
	// URL is the anchors list; zero means DefaultAtlasURL. A page_size=500 query
	// is added when the URL has none.
	URL string
	// Client makes the requests; nil means a client of its own with a one-minute
	// timeout. Whichever client is used, redirects are followed only to the same
	// host over https, at most three (see FetchAnchors).
	Client *http.Client
	// Refresh is how often anchors are picked anew; zero means 10 minutes. A failed
	// fetch is retried after a minute.
	Refresh time.Duration
	// Port is the TCP port probed on the anchors; zero means 80.
	Port uint16
	// MaxPages bounds the pages of the paginated list read per fetch (their "next"
	// links are followed only on the URL's own host); zero means 10.
	MaxPages int
}

// Anchor is one RIPE Atlas anchor.
type Anchor struct {
	ID           int
	FQDN         string
	Country      string
	City         string
	Addr4, Addr6 netip.Addr // invalid when the anchor has no such address
}

// atlasResult is one anchor of a page of the anchors API's answer.
type atlasResult struct {
	ID             int     `json:"id"`
	FQDN           string  `json:"fqdn"`
	Country        string  `json:"country"`
	City           string  `json:"city"`
	IPv4           *string `json:"ip_v4"`
	IPv6           *string `json:"ip_v6"`
	Disabled       bool    `json:"is_disabled"`
	Decommissioned *string `json:"date_decommissioned"`
}

// errAnchorCap ends the reading of a page when enough anchors were read.
var errAnchorCap = errors.New("atlas: anchor cap reached")

// FetchAnchors reads the anchors API at rawURL (DefaultAtlasURL if empty) with c,
// following its "next" pages on the same host and scheme, at most maxPages (zero:
// 10), and keeping at most 4096 anchors. Anchors that are disabled or
// decommissioned, with a field longer than 253 bytes, or whose addresses are not
// acceptable probe targets (CheckProbeTarget without private addresses: the
// server chooses them) are left out; an anchor with one acceptable address keeps
// it. A page may be at most 4 MiB. Redirects are followed only to the same host
// over https, at most three per page, whatever c's own CheckRedirect allows (c is
// not modified: a copy of it with that rule is used; c's CheckRedirect, if any,
// is then asked too).
func FetchAnchors(ctx context.Context, c *http.Client, rawURL string, maxPages int) ([]Anchor, error) {
	if rawURL == "" {
		rawURL = DefaultAtlasURL
	}
	if maxPages <= 0 {
		maxPages = DefaultAtlasMaxPages
	}
	base, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if q := base.Query(); !q.Has("page_size") {
		q.Set("page_size", "500")
		base.RawQuery = q.Encode()
	}
	c = atlasClient(c)
	var out []Anchor
	next := base
	for range maxPages {
		nextURL, err := fetchAtlasPage(ctx, c, next.String(), &out)
		if errors.Is(err, errAnchorCap) || err == nil && nextURL == "" {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if next, err = base.Parse(nextURL); err != nil || next.Host != base.Host || next.Scheme != base.Scheme {
			return out, fmt.Errorf("atlas: next page %q not on %s", nextURL, base.Host)
		}
	}
	return out, nil
}

// atlasClient returns a copy of c (nil: a client with a one-minute timeout)
// whose redirects go only to the same host over https, at most
// atlasMaxRedirects, and then only if c's own CheckRedirect agrees.
func atlasClient(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{Timeout: atlasFetchTimeout}
	}
	cc := *c
	own := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := atlasRedirect(req, via); err != nil {
			return err
		}
		if own != nil {
			return own(req, via)
		}
		return nil
	}
	return &cc
}

// atlasRedirect allows a redirect only to the host of the first request, over
// https, and at most atlasMaxRedirects of them.
func atlasRedirect(req *http.Request, via []*http.Request) error {
	switch {
	case len(via) > atlasMaxRedirects:
		return fmt.Errorf("atlas: more than %d redirects", atlasMaxRedirects)
	case req.URL.Scheme != "https" || req.URL.Host != via[0].URL.Host:
		return fmt.Errorf("atlas: redirect from %s to %s refused: only to the same host over https", via[0].URL.Redacted(), req.URL.Redacted())
	}
	return nil
}

// fetchAtlasPage gets one page, appends its anchors in service to out (up to
// atlasMaxAnchors in all) and returns its "next" link. It returns errAnchorCap
// once out is full.
func fetchAtlasPage(ctx context.Context, c *http.Client, u string, out *[]Anchor) (next string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("atlas: %s: %s", u, resp.Status)
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, atlasMaxPageSize))
	next, err = decodeAtlasPage(dec, out)
	if err != nil && !errors.Is(err, errAnchorCap) {
		return "", fmt.Errorf("atlas: %s: %w", u, err)
	}
	return next, err
}

// decodeAtlasPage reads one page's JSON object from dec, one anchor at a time:
// the anchors in service go to out, until it holds atlasMaxAnchors; other members
// than "next" and "results" are skipped.
func decodeAtlasPage(dec *json.Decoder, out *[]Anchor) (next string, err error) {
	if err := expectDelim(dec, '{'); err != nil {
		return "", err
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", err
		}
		switch key {
		case "next":
			var n *string
			if err := dec.Decode(&n); err != nil {
				return "", err
			}
			if n != nil {
				next = *n
			}
		case "results":
			if err := decodeAtlasResults(dec, out); err != nil {
				return next, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", err
			}
		}
	}
	return next, expectDelim(dec, '}')
}

// decodeAtlasResults reads the "results" array, one anchor at a time.
func decodeAtlasResults(dec *json.Decoder, out *[]Anchor) error {
	if err := expectDelim(dec, '['); err != nil {
		return err
	}
	for dec.More() {
		if len(*out) >= atlasMaxAnchors {
			return errAnchorCap
		}
		var r atlasResult
		if err := dec.Decode(&r); err != nil {
			return err
		}
		if a, ok := r.anchor(); ok {
			*out = append(*out, a)
		}
	}
	return expectDelim(dec, ']')
}

// expectDelim reads the next token of dec, which must be d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return fmt.Errorf("want %v, got %v", d, t)
	}
	return nil
}

// anchor returns r as an Anchor; ok is false when it is not in service, has an
// absurd field, or no address that may be probed.
func (r *atlasResult) anchor() (a Anchor, ok bool) {
	if r.Disabled || r.Decommissioned != nil ||
		len(r.FQDN) > atlasMaxField || len(r.Country) > atlasMaxField || len(r.City) > atlasMaxField {
		return Anchor{}, false
	}
	a = Anchor{ID: r.ID, FQDN: r.FQDN, Country: r.Country, City: r.City}
	if r.IPv4 != nil {
		if ip, err := netip.ParseAddr(*r.IPv4); err == nil && ip.Is4() && CheckProbeTarget(ip, false) == nil {
			a.Addr4 = ip
		}
	}
	if r.IPv6 != nil {
		if ip, err := netip.ParseAddr(*r.IPv6); err == nil && ip.Is6() && CheckProbeTarget(ip, false) == nil {
			a.Addr6 = ip
		}
	}
	return a, a.Addr4.IsValid() || a.Addr6.IsValid()
}

// PickAnchors picks, uniformly at random with r (nil: the default source), the IPv6
// address of an anchor that has one and the IPv4 address of an anchor that has
// one; invalid when no anchor has such an address.
func PickAnchors(anchors []Anchor, r *rand.Rand) (v6, v4 netip.Addr) {
	n := rand.IntN
	if r != nil {
		n = r.IntN
	}
	var six, four []netip.Addr
	for _, a := range anchors {
		if a.Addr6.IsValid() {
			six = append(six, a.Addr6)
		}
		if a.Addr4.IsValid() {
			four = append(four, a.Addr4)
		}
	}
	if len(six) > 0 {
		v6 = six[n(len(six))]
	}
	if len(four) > 0 {
		v4 = four[n(len(four))]
	}
	return v6, v4
}

// runAtlas keeps the Prober's anchors fresh until it is closed.
func (p *Prober) runAtlas(cfg AtlasConfig) {
	refresh := cfg.Refresh
	if refresh <= 0 {
		refresh = DefaultAtlasRefresh
	}
	port := cfg.Port
	if port == 0 {
		port = DefaultProbePort
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{
			Timeout:       atlasFetchTimeout,
			Transport:     http.DefaultTransport.(*http.Transport).Clone(),
			CheckRedirect: atlasRedirect,
		}
		defer client.CloseIdleConnections()
	}
	failing := false // the last fetch failed: the next failure is a debug message
	for {
		wait := refresh
		ctx, cancel := context.WithTimeout(p.ctx, atlasFetchTimeout)
		anchors, err := FetchAnchors(ctx, client, cfg.URL, cfg.MaxPages)
		cancel()
		if v6, v4 := PickAnchors(anchors, nil); err == nil && (v6.IsValid() || v4.IsValid()) {
			p.setAnchors(netip.AddrPortFrom(v6, port), netip.AddrPortFrom(v4, port))
			failing = false
		} else if p.ctx.Err() == nil {
			log := p.log.Warn // once per failure streak (no Internet: every minute)
			if failing {
				log = p.log.Debug
			}
			log("atlas anchors not fetched", zap.Error(err), zap.Int("anchors", len(anchors)))
			failing, wait = true, min(refresh, atlasRetry)
		}
		t := time.NewTimer(wait)
		select {
		case <-p.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// setAnchors makes the valid ones of anchors the Prober's Atlas targets, probed
// within a second.
func (p *Prober) setAnchors(anchors ...netip.AddrPort) {
	p.mu.Lock()
	p.anchors = p.anchors[:0]
	for _, a := range anchors {
		if a.Addr().IsValid() {
			p.anchors = append(p.anchors, a)
			p.pending[a] = struct{}{}
		}
	}
	p.mu.Unlock()
	p.log.Info("atlas anchors picked", zap.Any("anchors", anchors))
	p.wake()
}
