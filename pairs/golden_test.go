package pairs

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/probe"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/pairs")

// scenario is one golden test: a host, what is known of its paths, a query. Its
// expected ranking and racing order are in the .golden file of the same name.
type scenario struct {
	Comment string `json:"comment"`
	Links   []struct {
		Index    int    `json:"index"`
		Name     string `json:"name"`
		Down     bool   `json:"down"`
		Loopback bool   `json:"loopback"`
	} `json:"links"`
	Addrs []struct {
		Addr  string   `json:"addr"` // prefix form, "2001:db8::1/64"
		Link  string   `json:"link"`
		Flags []string `json:"flags"` // deprecated, tentative, temporary, dadfailed
	} `json:"addrs"`
	Routes []struct {
		Dst    string `json:"dst"`
		Via    string `json:"via"`
		Link   string `json:"link"`
		Type   string `json:"type"` // "", unreachable, prohibit, blackhole
		Table  uint32 `json:"table"`
		Metric uint32 `json:"metric"`
	} `json:"routes"`
	Rules []struct {
		Priority uint32 `json:"priority"`
		From     string `json:"from"`
		Table    uint32 `json:"table"`
	} `json:"rules"`
	Stats []struct {
		Src  string `json:"src"`
		Dst  string `json:"dst"`
		SRTT string `json:"srtt"`
	} `json:"stats"`
	Health           map[string]string   `json:"health"`
	Translators      probe.Translators   `json:"translators"`
	DNS              map[string][]string `json:"dns"`
	Network          string              `json:"network"`
	Host             string              `json:"host"`
	Port             uint16              `json:"port"`
	Local            string              `json:"local"`
	FirstFamilyCount int                 `json:"first_family_count"`
	IPv6Bias         string              `json:"ipv6_bias"`
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("../testdata/pairs/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			got := runScenario(t, f)
			golden := strings.TrimSuffix(f, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs; got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func runScenario(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var sc scenario
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		t.Fatal(err)
	}
	dns := fakeDNS{}
	for name, addrs := range sc.DNS {
		for _, a := range addrs {
			dns[name] = append(dns[name], ip(a))
		}
	}
	opts := []Option{WithFirstFamilyCount(sc.FirstFamilyCount)}
	if sc.IPv6Bias != "" {
		opts = append(opts, WithIPv6Bias(mustDuration(t, sc.IPv6Bias)))
	}
	s, _ := newTestSelector(t, sc.snapshot(t), dns, opts...)
	q := Query{Network: sc.Network, Host: sc.Host, Port: sc.Port}
	if sc.Local != "" {
		q.Local = netip.MustParseAddrPort(sc.Local)
	}
	k := sc.knowledge(t)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n# ranked\n", sc.Comment)
	ctx := context.Background()
	ps, err := s.rankedWith(ctx, q, k)
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.String()
	}
	writePairs(&b, ps)
	fmt.Fprintf(&b, "# attempts (first family count %d)\n", max(sc.FirstFamilyCount, 1))
	writePairs(&b, Order(ps, sc.FirstFamilyCount))
	return b.String()
}

func writePairs(b *strings.Builder, ps []Pair) {
	for i, p := range ps {
		fmt.Fprintf(b, "%2d. %s -> %s %s %s %v %s%s | %s\n", i+1, p.Src, p.Dst, p.Interface,
			p.Latency, p.Basis, p.Health, mismatchMark(p), p.Reason)
	}
}

func mismatchMark(p Pair) string {
	if p.EgressMismatch {
		return " egress-mismatch"
	}
	return ""
}

func mustDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var flagNames = map[string]netstate.AddrFlags{
	"deprecated": netstate.Deprecated, "tentative": netstate.Tentative,
	"temporary": netstate.Temporary, "dadfailed": netstate.DADFailed,
}

var routeTypes = map[string]netstate.RouteType{
	"": netstate.Unicast, "unreachable": netstate.Unreachable,
	"prohibit": netstate.Prohibit, "blackhole": netstate.Blackhole,
}

func (sc *scenario) snapshot(t *testing.T) *netstate.Snapshot {
	t.Helper()
	snap := &netstate.Snapshot{Generation: 1}
	index := map[string]int{}
	for _, l := range sc.Links {
		index[l.Name] = l.Index
		snap.Links = append(snap.Links, netstate.Link{Index: l.Index, Name: l.Name,
			Up: !l.Down, Running: !l.Down, Loopback: l.Loopback})
	}
	for _, a := range sc.Addrs {
		var flags []netstate.AddrFlags
		for _, f := range a.Flags {
			fl, ok := flagNames[f]
			if !ok {
				t.Fatalf("unknown flag %q", f)
			}
			flags = append(flags, fl)
		}
		snap.Addrs = append(snap.Addrs, addr(a.Addr, index[a.Link], a.Link, flags...))
	}
	for _, r := range sc.Routes {
		rt := route(r.Dst, r.Via, index[r.Link])
		rt.Type, rt.Table, rt.Priority = routeTypes[r.Type], r.Table, r.Metric
		snap.Routes = append(snap.Routes, rt)
	}
	for _, r := range sc.Rules {
		from := netip.MustParsePrefix(r.From)
		snap.Rules = append(snap.Rules, netstate.Rule{Is6: from.Addr().Is6(), Priority: r.Priority, Src: from, Table: r.Table})
	}
	if len(snap.Rules) > 0 { // then each family needs its "lookup main"
		snap.Rules = append(snap.Rules,
			netstate.Rule{Is6: true, Priority: 32766, Table: 254},
			netstate.Rule{Is6: false, Priority: 32766, Table: 254})
	}
	return snap
}

var healthNames = map[string]probe.Health{
	"unknown": probe.Unknown, "alive": probe.Alive, "suspect": probe.Suspect, "dead": probe.Dead,
}

func (sc *scenario) knowledge(t *testing.T) *fakeKnowledge {
	t.Helper()
	k := &fakeKnowledge{pairs: map[[2]netip.Addr]probe.PairStats{}, health: map[netip.Addr]probe.Health{}, tr: sc.Translators}
	for _, st := range sc.Stats {
		k.pairs[[2]netip.Addr{ip(st.Src), ip(st.Dst)}] = srtt(mustDuration(t, st.SRTT))
	}
	for a, h := range sc.Health {
		hh, ok := healthNames[h]
		if !ok {
			t.Fatalf("unknown health %q", h)
		}
		k.health[ip(a)] = hh
	}
	return k
}
