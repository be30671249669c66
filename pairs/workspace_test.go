package pairs

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestRankReusedWorkspace checks that a ranking does not depend on what a reused
// workspace held, its reason cache included: each ranking, after others of other
// sizes, latencies and prefixes, equals the ranking with a new workspace.
func TestRankReusedWorkspace(t *testing.T) {
	type input struct{ n, shift int }
	// Shifted latencies and prefixes: Reasons the cache has not seen, until it
	// is more than half full and grows or is emptied.
	var churn []input
	for shift := range 48 {
		churn = append(churn, input{8, shift}, input{4, shift / 2})
	}
	tests := []struct {
		name   string
		inputs []input // ranked in this order with one workspace
	}{
		{"smaller after larger", []input{{16, 0}, {4, 0}}},
		{"larger after smaller", []input{{4, 0}, {16, 0}}},
		{"same twice", []input{{8, 0}, {8, 0}}},
		{"up and down", []input{{2, 0}, {16, 0}, {3, 0}, {12, 0}}},
		{"other latencies and prefixes", []input{{16, 0}, {16, 1}, {16, 0}, {16, 2}}},
		{"churn", append(churn, input{16, 0}, input{8, 3})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := new(workspace)
			most := 0
			for _, x := range tt.inputs {
				in := shiftedInput(x.n, x.shift)
				most = max(most, len(in.cands))
				want := rank(in, new(workspace))
				got := rank(in, ws)
				ws.release() // as workspaces.put does
				if !slices.Equal(got, want) {
					t.Fatalf("%dx%d shifted %d with a reused workspace:\n got %v\nwant %v", x.n, x.n, x.shift, got, want)
				}
				rc := &ws.reasons
				if limit := 4 * most; len(rc.said) > limit || rc.n > len(rc.said) || len(rc.prefixes) > limit {
					t.Fatalf("after %dx%d shifted %d: %d slots, %d Reasons, %d prefixes for rankings of %d pairs at most",
						x.n, x.n, x.shift, len(rc.said), rc.n, len(rc.prefixes), most)
				}
			}
		})
	}
}

// TestReasonCacheKeeps checks that a ranking of what is already known writes no
// Reason again: after the first ranking, the next allocates nothing (its result
// is in the workspace too).
func TestReasonCacheKeeps(t *testing.T) {
	for _, n := range []int{2, 16, 64} {
		in := benchInput(n)
		ws := new(workspace)
		rank(in, ws)
		if allocs := testing.AllocsPerRun(10, func() { rank(in, ws) }); allocs > 0 {
			t.Errorf("%dx%d ranked again: %v allocations, want none", n, n, allocs)
		}
	}
}

// TestResultsOutliveWorkspace checks that what Get, Attempts and LookupNetIP
// return is the caller's: the rankings after it, in the same workspaces, leave
// it as it was.
func TestResultsOutliveWorkspace(t *testing.T) {
	dns := fakeDNS{
		// b.example has fewer addresses: its rankings fit in a's memory.
		"a.example": {ip("2001:db8:a::1"), ip("2001:db8:a::2"), ip("192.0.2.1"), ip("192.0.2.2")},
		"b.example": {ip("2001:db8:b::1"), ip("198.51.100.1")},
	}
	s, _ := newTestSelector(t, homeSnapshot(), dns)
	ctx := context.Background()
	get := func() ([]Pair, error) { return s.Get(ctx, "a.example", 443) }
	attempts := func() ([]Pair, error) {
		return s.Attempts(ctx, Query{Network: "tcp", Host: "a.example", Port: 443})
	}
	for _, tt := range []struct {
		name  string
		first func() ([]Pair, error)
	}{{"Get", get}, {"Attempts", attempts}} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.first()
			if err != nil || len(got) == 0 {
				t.Fatalf("a.example: %v, %v", got, err)
			}
			want := slices.Clone(got)
			for port := range 20 { // other queries, so that no remembered order answers them
				if _, err := s.Get(ctx, "b.example", 1000+port); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Attempts(ctx, Query{Network: "tcp", Host: "b.example", Port: uint16(2000 + port)}); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("a.example's pairs changed under later rankings:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestShowLatency checks the rounding of the latencies Reasons show.
func TestShowLatency(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.0ms"},
		{49 * time.Microsecond, "0.0ms"},
		{50 * time.Microsecond, "0.1ms"},
		{1234 * time.Microsecond, "1.2ms"},
		{9949 * time.Microsecond, "9.9ms"},
		{9950 * time.Microsecond, "10.0ms"}, // rounded to tenths: below 10 ms
		{10 * time.Millisecond, "10ms"},
		{10499 * time.Microsecond, "10ms"},
		{10500 * time.Microsecond, "11ms"},
		{2 * time.Hour, "7200000ms"},
	} {
		if got := string(showLatency(tt.d).append(nil)); got != tt.want {
			t.Errorf("showLatency(%v) shows %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestReasonKeyID checks that keys with other Reasons have other ids, and that
// a key whose values do not fit in one has none.
func TestReasonKeyID(t *testing.T) {
	seen := map[uint64]string{}
	for _, lat := range []shownLatency{0, 1, 2, 3, 1<<20 - 1} {
		for _, nearby := range []int32{0, 1, 2, 1<<20 - 1} {
			for _, tier := range []int{tierUsable, tierSuspect, tierDeprecated, tierDead} {
				for _, basis := range []Basis{Assumed, Inherited, Measured} {
					for _, kind := range []defaultKind{defaultLoopback, defaultTunnel} {
						for _, flags := range []reasonSays{0, saysMiddlebox, saysKernel | saysLatency, saysAfterKernel, saysDstRule} {
							for _, n := range []uint8{0, 1, 10} {
								says := reasonSays(tier)<<saysTier | reasonSays(basis)<<saysBasis |
									reasonSays(kind)<<saysKind | flags | reasonSays(n)<<saysRule
								k := reasonKey{latency: lat, nearby: nearby, says: says}
								id, ok := k.id()
								if !ok {
									t.Fatalf("%+v has no id", k)
								}
								what := fmt.Sprintf("%+v", k)
								if other, dup := seen[id]; dup {
									t.Fatalf("%s and %s have the same id %#x", what, other, id)
								}
								seen[id] = what
							}
						}
					}
				}
			}
		}
	}
	for _, k := range []reasonKey{{latency: -2}, {latency: 1 << 20}, {nearby: 1 << 20}, {nearby: -1}} {
		if _, ok := k.id(); ok {
			t.Errorf("%+v has an id", k)
		}
	}
}

// TestReasonCacheEmptied checks that a full cache, emptied, forgets its Reasons
// with its prefixes' numbers: a Reason that cites a prefix number given anew
// cites the new prefix.
func TestReasonCacheEmptied(t *testing.T) {
	var rc reasonCache
	var buf []byte
	inherited := func(p netip.Prefix) reasonKey {
		return reasonKey{latency: showLatency(20 * time.Millisecond), nearby: rc.prefix(p), says: reasonSays(Inherited) << saysBasis}
	}
	rc.trim(1, 1)
	if got, want := rc.text(inherited(netip.MustParsePrefix("2001:db8::/32")), &buf), "inherited 2001:db8::/32 20ms"; got != want {
		t.Fatalf("first Reason %q, want %q", got, want)
	}
	for ms := range len(rc.said) {
		rc.text(reasonKey{latency: showLatency(time.Duration(ms) * time.Millisecond), says: reasonSays(Measured) << saysBasis}, &buf)
	}
	rc.trim(1, 1) // more than half full at its largest: emptied
	if rc.n != 0 || len(rc.prefixes) != 0 {
		t.Fatalf("not emptied: %d Reasons, %d prefixes", rc.n, len(rc.prefixes))
	}
	if got, want := rc.text(inherited(netip.MustParsePrefix("2001:db9::/32")), &buf), "inherited 2001:db9::/32 20ms"; got != want {
		t.Errorf("after emptying: %q, want %q", got, want)
	}
}

// TestRankWritesEveryField checks that rank writes every field of the pairs it
// leaves in the workspace, which it does not zero first: a workspace whose
// pairs hold a value in every field (as a later step of a dial may have set
// Fallback or Service there) ranks as a new one. A field of a type it does not
// know how to fill fails the test: a new field of Pair must be written by rank
// (ranking.pairs) and filled here.
func TestRankWritesEveryField(t *testing.T) {
	in := benchInput(4)
	want := slices.Clone(rank(in, new(workspace)))
	ws := new(workspace)
	ws.ranked = make([]Pair, len(want))
	for i := range ws.ranked {
		v := reflect.ValueOf(&ws.ranked[i]).Elem()
		for j := range v.NumField() {
			f := v.Field(j)
			switch x := f.Addr().Interface().(type) {
			case *netip.AddrPort:
				*x = netip.MustParseAddrPort("[2001:db8::dead]:9")
			case *netip.Addr:
				*x = netip.MustParseAddr("64:ff9b::c000:201")
			case **Service:
				*x = &Service{Target: "stale.example."}
			default:
				switch f.Kind() {
				case reflect.String:
					f.SetString("stale")
				case reflect.Bool:
					f.SetBool(true)
				case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
					f.SetInt(7)
				case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
					f.SetUint(7)
				default:
					t.Fatalf("Pair.%s: a %v, which this test does not fill", v.Type().Field(j).Name, f.Type())
				}
			}
		}
	}
	if got := rank(in, ws); !reflect.DeepEqual(got, want) {
		t.Fatalf("over stale pairs:\n got %v\nwant %v", got, want)
	}
}
