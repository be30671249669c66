package probe

import (
	"context"
	"encoding/json"
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
)

// AtlasConfig turns on RIPE Atlas anchors as probe targets: one IPv6 and one IPv4
// anchor, picked at random from the anchors API and picked anew every Refresh.
type AtlasConfig struct {
	// URL is the anchors list; zero means DefaultAtlasURL. A page_size=500 query
	// is added when the URL has none.
	URL string
	// Client makes the requests; nil means a client of its own with a one-minute
	// timeout.
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

// atlasPage is one page of the anchors API's answer.
type atlasPage struct {
	Count   int    `json:"count"`
	Next    string `json:"next"`
	Results []struct {
		ID             int     `json:"id"`
		FQDN           string  `json:"fqdn"`
		Country        string  `json:"country"`
		City           string  `json:"city"`
		IPv4           *string `json:"ip_v4"`
		IPv6           *string `json:"ip_v6"`
		Disabled       bool    `json:"is_disabled"`
		Decommissioned *string `json:"date_decommissioned"`
	} `json:"results"`
}

// FetchAnchors reads the anchors API at rawURL (DefaultAtlasURL if empty) with c,
// following its "next" pages on the same host, at most maxPages (zero: 10). Anchors
// that are disabled or decommissioned are left out.
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
	var out []Anchor
	next := base
	for range maxPages {
		page, err := fetchAtlasPage(ctx, c, next.String())
		if err != nil {
			return out, err
		}
		out = append(out, page.anchors()...)
		if page.Next == "" {
			break
		}
		if next, err = base.Parse(page.Next); err != nil || next.Host != base.Host || next.Scheme != base.Scheme {
			return out, fmt.Errorf("atlas: next page %q not on %s", page.Next, base.Host)
		}
	}
	return out, nil
}

// fetchAtlasPage gets and decodes one page.
func fetchAtlasPage(ctx context.Context, c *http.Client, u string) (*atlasPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("atlas: %s: %s", u, resp.Status)
	}
	var page atlasPage
	if err := json.NewDecoder(io.LimitReader(resp.Body, atlasMaxPageSize)).Decode(&page); err != nil {
		return nil, fmt.Errorf("atlas: %s: %w", u, err)
	}
	return &page, nil
}

// anchors returns the page's anchors in service.
func (p *atlasPage) anchors() []Anchor {
	var out []Anchor
	for _, r := range p.Results {
		if r.Disabled || r.Decommissioned != nil {
			continue
		}
		a := Anchor{ID: r.ID, FQDN: r.FQDN, Country: r.Country, City: r.City}
		if r.IPv4 != nil {
			if ip, err := netip.ParseAddr(*r.IPv4); err == nil && ip.Is4() {
				a.Addr4 = ip
			}
		}
		if r.IPv6 != nil {
			if ip, err := netip.ParseAddr(*r.IPv6); err == nil && ip.Is6() && !ip.Is4In6() {
				a.Addr6 = ip
			}
		}
		if a.Addr4.IsValid() || a.Addr6.IsValid() {
			out = append(out, a)
		}
	}
	return out
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
		client = &http.Client{Timeout: atlasFetchTimeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
		defer client.CloseIdleConnections()
	}
	for {
		wait := refresh
		ctx, cancel := context.WithTimeout(p.ctx, atlasFetchTimeout)
		anchors, err := FetchAnchors(ctx, client, cfg.URL, cfg.MaxPages)
		cancel()
		if v6, v4 := PickAnchors(anchors, nil); err == nil && (v6.IsValid() || v4.IsValid()) {
			p.setAnchors(netip.AddrPortFrom(v6, port), netip.AddrPortFrom(v4, port))
		} else if p.ctx.Err() == nil {
			p.log.Warn("atlas anchors not fetched", zap.Error(err), zap.Int("anchors", len(anchors)))
			wait = min(refresh, atlasRetry)
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
