package probe_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

// atlasServer serves the recorded anchors answer of testdata/probe, two pages.
// With rewrite, the "next" links point to the server itself instead of
// atlas.ripe.net. It records the requests' URLs.
type atlasServer struct {
	*httptest.Server
	mu   sync.Mutex
	urls []string
}

func newAtlasServer(t *testing.T, rewrite bool) *atlasServer {
	t.Helper()
	pages := map[string][]byte{}
	for _, n := range []string{"1", "2"} {
		b, err := os.ReadFile("../testdata/probe/atlas-anchors-page" + n + ".json")
		if err != nil {
			t.Fatal(err)
		}
		pages[n] = b
	}
	as := &atlasServer{}
	as.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		as.mu.Lock()
		as.urls = append(as.urls, r.URL.String()+" accept="+r.Header.Get("Accept"))
		as.mu.Unlock()
		if r.URL.Path != "/api/v2/anchors/" {
			http.NotFound(w, r)
			return
		}
		page := pages["1"]
		if r.URL.Query().Get("page") == "2" {
			page = pages["2"]
		}
		if rewrite {
			page = []byte(strings.ReplaceAll(string(page), "https://atlas.ripe.net", as.URL))
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(page)
	}))
	t.Cleanup(as.Close)
	return as
}

func (as *atlasServer) api() string { return as.URL + "/api/v2/anchors/" }

func TestFetchAnchors(t *testing.T) {
	as := newAtlasServer(t, true)
	got, err := probe.FetchAnchors(context.Background(), as.Client(), as.api(), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []probe.Anchor{
		{ID: 3102, FQDN: "fi-tmp-as39484.anchors.atlas.ripe.net", Country: "FI", City: "Tampere",
			Addr4: addr("185.239.193.37"), Addr6: addr("2a02:13c8:0:51::37")},
		{ID: 1380, FQDN: "fr-cv7-as52039.anchors.atlas.ripe.net", Country: "FR", City: "Cesson- Sevigne",
			Addr4: addr("185.150.253.30")},
		{ID: 2917, FQDN: "fr-bor-as50903.anchors.atlas.ripe.net", Country: "FR", City: "Belfort",
			Addr4: addr("45.148.157.1"), Addr6: addr("2a00:ab80:3:5::2")},
		{ID: 4060, FQDN: "fm-pni-as139759.anchors.atlas.ripe.net", Country: "FM", City: "Kolonia",
			Addr4: addr("119.252.112.108"), Addr6: addr("2407:4800:0:1::7")},
	}
	if !slices.Equal(got, want) {
		t.Errorf("FetchAnchors =\n%+v\nwant (the disabled anchor left out)\n%+v", got, want)
	}
	wantURLs := []string{
		"/api/v2/anchors/?page_size=500 accept=application/json",
		"/api/v2/anchors/?format=json&page=2&page_size=3 accept=application/json",
	}
	if !slices.Equal(as.urls, wantURLs) {
		t.Errorf("requests = %q, want %q", as.urls, wantURLs)
	}
}

func TestFetchAnchorsErrors(t *testing.T) {
	t.Run("next page on another host", func(t *testing.T) {
		as := newAtlasServer(t, false)
		got, err := probe.FetchAnchors(context.Background(), as.Client(), as.api(), 0)
		if err == nil || len(got) != 2 {
			t.Errorf("FetchAnchors = %d anchors, %v; want the first page's 2 and an error", len(got), err)
		}
		if len(as.urls) != 1 {
			t.Errorf("requests = %q, want only the first page", as.urls)
		}
	})
	t.Run("http error", func(t *testing.T) {
		as := newAtlasServer(t, true)
		if _, err := probe.FetchAnchors(context.Background(), as.Client(), as.URL+"/nothing/", 0); err == nil {
			t.Error("FetchAnchors of a 404: no error")
		}
	})
	t.Run("page cap", func(t *testing.T) {
		as := newAtlasServer(t, true)
		got, err := probe.FetchAnchors(context.Background(), as.Client(), as.api(), 1)
		if err != nil || len(got) != 2 || len(as.urls) != 1 {
			t.Errorf("FetchAnchors with one page = %d anchors, %v, %d requests", len(got), err, len(as.urls))
		}
	})
}

func TestPickAnchors(t *testing.T) {
	anchors := []probe.Anchor{
		{ID: 1, Addr4: addr("192.0.2.1"), Addr6: addr("2001:db8::1")},
		{ID: 2, Addr4: addr("192.0.2.2")},
		{ID: 3, Addr6: addr("2001:db8::3")},
	}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[netip.Addr]int{}
	for range 200 {
		v6, v4 := probe.PickAnchors(anchors, r)
		if !v6.Is6() || !v4.Is4() {
			t.Fatalf("PickAnchors = %v, %v", v6, v4)
		}
		seen[v6]++
		seen[v4]++
	}
	for _, a := range []string{"192.0.2.1", "192.0.2.2", "2001:db8::1", "2001:db8::3"} {
		if seen[addr(a)] < 60 {
			t.Errorf("%s picked %d times in 200, want about 100", a, seen[addr(a)])
		}
	}
	if v6, v4 := probe.PickAnchors(nil, nil); v6.IsValid() || v4.IsValid() {
		t.Errorf("PickAnchors(nil) = %v, %v", v6, v4)
	}
}

// TestProberAtlas runs a Prober with Atlas anchors from the local recorded answer.
// Its connects all fail at once in a fake Dial: nothing leaves the host.
func TestProberAtlas(t *testing.T) {
	as := newAtlasServer(t, true)
	w := netstate.NewStatic(twoUplinks.snap())
	asked := make(chan netip.AddrPort, 64)
	p := probe.NewProber(probe.NewStore(), w, probe.ProberConfig{
		Candidates: func(dst netip.AddrPort) []probe.Path {
			asked <- dst
			return candidates(w)(dst)
		},
		Dial:  func(context.Context, probe.Path) (net.Conn, error) { return nil, errors.New("fake: no network") },
		Atlas: &probe.AtlasConfig{URL: as.api(), Client: as.Client(), Port: 8080},
	})
	defer p.Close()
	v6s := []string{"2a02:13c8:0:51::37", "2a00:ab80:3:5::2", "2407:4800:0:1::7"}
	v4s := []string{"185.239.193.37", "185.150.253.30", "45.148.157.1", "119.252.112.108"}
	var got6, got4 bool
	timeout := time.After(30 * time.Second)
	for !got6 || !got4 {
		select {
		case dst := <-asked:
			s := dst.Addr().String()
			got6 = got6 || (dst.Port() == 8080 && slices.Contains(v6s, s))
			got4 = got4 || (dst.Port() == 8080 && slices.Contains(v4s, s))
		case <-timeout:
			t.Fatalf("anchors not probed: v6 %v, v4 %v", got6, got4)
		}
	}
	targets := p.Targets()
	if len(targets) != 4 || targets[0] != gw6 || targets[1] != gw4 {
		t.Errorf("Targets = %v, want the gateways and two anchors", targets)
	}
}

// TestFetchAnchorsRefusesTargets checks that the addresses a server chooses are
// probe targets only when CheckProbeTarget accepts them without private ones.
func TestFetchAnchorsRefusesTargets(t *testing.T) {
	bad := []string{"127.0.0.1", "::1", "0.0.0.0", "::", "255.255.255.255", "224.0.0.1", "ff02::1",
		"fe80::1%eth0", "169.254.169.254", "10.0.0.1", "100.64.0.1", "fd00::1", "fd00:ec2::254",
		"168.63.129.16", "192.0.0.8", "::ffff:192.0.2.1", "64:ff9b::7f00:1", "2001:db8::1%eth0"}
	var results []string
	for i, a := range bad {
		field := "ip_v4"
		if strings.Contains(a, ":") {
			field = "ip_v6"
		}
		results = append(results, fmt.Sprintf(`{"id": %d, "fqdn": "bad%d.example", %q: %q}`, i, i, field, a))
	}
	results = append(results, `{"id": 100, "fqdn": "good.example", "ip_v4": "198.51.100.1", "ip_v6": "::1"}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"results": [%s], "next": null}`, strings.Join(results, ","))
	}))
	defer srv.Close()
	got, err := probe.FetchAnchors(context.Background(), srv.Client(), srv.URL, 0)
	want := []probe.Anchor{{ID: 100, FQDN: "good.example", Addr4: addr("198.51.100.1")}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("FetchAnchors = %+v, %v; want only %+v", got, err, want)
	}
}

// TestFetchAnchorsRedirects checks that redirects are followed only to the same
// host over https, with the caller's client and with the Prober's own rule.
func TestFetchAnchorsRedirects(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		fmt.Fprint(w, `{"results": [{"id": 1, "ip_v4": "198.51.100.1"}]}`)
	}))
	defer other.Close()
	otherTLS := httptest.NewTLSServer(other.Config.Handler)
	defer otherTLS.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/list", http.StatusFound)
		case "/plain":
			http.Redirect(w, r, "http://"+r.Host+"/list", http.StatusFound)
		case "/other":
			http.Redirect(w, r, other.URL+"/list", http.StatusFound)
		case "/other-tls":
			http.Redirect(w, r, otherTLS.URL+"/list", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/list":
			fmt.Fprint(w, `{"results": [{"id": 2, "ip_v4": "198.51.100.2"}]}`)
		}
	}))
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true // otherTLS too
	tests := []struct {
		path string
		ok   bool
	}{
		{"/same", true},
		{"/plain", false},
		{"/other", false},
		{"/other-tls", false},
		{"/loop", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := probe.FetchAnchors(context.Background(), client, srv.URL+tt.path, 0)
			if ok := err == nil && len(got) == 1 && got[0].ID == 2; ok != tt.ok {
				t.Errorf("FetchAnchors = %+v, %v; want followed %v", got, err, tt.ok)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other hosts got %d requests, want none", n)
	}
	if client.CheckRedirect != nil {
		t.Error("FetchAnchors changed the caller's client")
	}
}

// TestFetchAnchorsCaps serves ten pages of 3 MiB (300 KiB with the race
// detector), each with about 100,000 tiny anchors: at most 4,096 are kept and the
// reading stops there; with anchors that are all refused, the ten pages are read
// and nothing is kept.
func TestFetchAnchorsCaps(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 30 MiB")
	}
	size := 3 << 20
	if raceEnabled {
		size = 300 << 10
	}
	for _, tc := range []struct {
		name, ip      string
		anchors, reqs int
	}{
		{"anchor cap", "198.51.100.1", 4096, 1},
		{"page cap", "127.0.0.1", 0, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entry := fmt.Sprintf(`{"id":1,"ip_v4":%q},`, tc.ip)
			page := []byte(`{"next":"/p","results":[` + strings.Repeat(entry, size/len(entry)) + `{}]}`)
			var reqs atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reqs.Add(1)
				w.Write(page)
			}))
			defer srv.Close()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got, err := probe.FetchAnchors(context.Background(), srv.Client(), srv.URL, 0)
			runtime.GC()
			runtime.ReadMemStats(&after)
			if err != nil || len(got) != tc.anchors || int(reqs.Load()) != tc.reqs {
				t.Errorf("FetchAnchors = %d anchors, %v after %d requests; want %d anchors after %d",
					len(got), err, reqs.Load(), tc.anchors, tc.reqs)
			}
			grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("%d requests, %d anchors kept, heap +%d KiB, %d MiB allocated", reqs.Load(), len(got), grown>>10, (after.TotalAlloc-before.TotalAlloc)>>20)
			if grown > 4<<20 {
				t.Errorf("heap grew by %d bytes holding the anchors, want at most 4 MiB", grown)
			}
			runtime.KeepAlive(got)
		})
	}
}

// failingTransport fails every request, as a host without Internet does.
type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("fake: no route to host")
}

// TestProberAtlasFailureWarnsOnce checks that anchors that cannot be fetched (no
// Internet) are one warning, then debug messages, not a warning every minute.
func TestProberAtlasFailureWarnsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		core, logs := observer.New(zap.DebugLevel)
		w := netstate.NewStatic(twoUplinks.snap())
		p := probe.NewProber(probe.NewStore(), w, probe.ProberConfig{
			Candidates: candidates(w),
			Dial:       func(context.Context, probe.Path) (net.Conn, error) { return nil, errors.New("fake: no network") },
			Atlas:      &probe.AtlasConfig{URL: "https://atlas.test/api/", Client: &http.Client{Transport: failingTransport{}}},
			Logger:     zap.New(core),
		})
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		p.Close()
		fails := logs.FilterMessage("atlas anchors not fetched")
		if warn := fails.FilterLevelExact(zap.WarnLevel).Len(); warn != 1 || fails.Len() < 5 {
			t.Errorf("%d failed fetches logged, %d as warnings; want several, one warning", fails.Len(), warn)
		}
	})
}
