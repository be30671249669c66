package pairs

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/getapr/getapr/probe"
)

// TestParseEnv checks how the default Selector reads its environment, without
// starting it.
func TestParseEnv(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		targets  []netip.AddrPort
		level    string // "" for no logging
		problems int
	}{
		{"empty", nil, nil, "", 0},
		{"targets", map[string]string{EnvProbeTargets: "192.0.2.1:80, [2001:db8::1]:443,"},
			[]netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:80"), netip.MustParseAddrPort("[2001:db8::1]:443")}, "", 0},
		{"mapped target unmapped", map[string]string{EnvProbeTargets: "[::ffff:192.0.2.1]:80"},
			[]netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:80")}, "", 0},
		{"bad targets", map[string]string{EnvProbeTargets: "example.com:80,192.0.2.1,192.0.2.2:0,192.0.2.3:80"},
			[]netip.AddrPort{netip.MustParseAddrPort("192.0.2.3:80")}, "", 3},
		{"targets never probed", map[string]string{EnvProbeTargets: "224.0.0.1:80,[::]:80,[fe80::1%eth0]:80,127.0.0.1:80,169.254.169.254:80,10.0.0.1:80"},
			nil, "", 6},
		{"private target marked", map[string]string{EnvProbeTargets: "private:10.0.0.1:80,private:[fd00::1]:443"},
			[]netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:80"), netip.MustParseAddrPort("[fd00::1]:443")}, "", 0},
		{"log level", map[string]string{EnvLog: "debug"}, nil, "debug", 0},
		{"log level upper case", map[string]string{EnvLog: "WARN"}, nil, "warn", 0},
		{"bad log level", map[string]string{EnvLog: "loud"}, nil, "", 1},
		{"pref64", map[string]string{EnvPREF64: "64:ff9b::/96%eth1"}, nil, "", 0},
		{"bad pref64", map[string]string{EnvPREF64: "64:ff9b::/95"}, nil, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseEnv(func(k string) string { return tt.env[k] })
			if !slices.Equal(c.targets, tt.targets) {
				t.Errorf("targets = %v, want %v", c.targets, tt.targets)
			}
			if p := tt.env[EnvPREF64]; tt.problems == 0 && p != "" &&
				(len(c.pref64) != 1 || c.pref64[0] != (ConfiguredPREF64{Interface: "eth1", Prefix: netip.MustParsePrefix("64:ff9b::/96")})) {
				t.Errorf("pref64 = %+v for %q", c.pref64, p)
			}
			if len(c.problems) != tt.problems {
				t.Errorf("problems = %q, want %d", c.problems, tt.problems)
			}
			l, err := c.logger()
			if err != nil {
				t.Fatal(err)
			}
			defer l.Sync()
			if tt.level == "" {
				if c.level != nil || l.Core().Enabled(zapcore.FatalLevel) {
					t.Errorf("logging is on (level %v), want off", c.level)
				}
				return
			}
			want, _ := zapcore.ParseLevel(tt.level)
			if c.level == nil || *c.level != want || !l.Core().Enabled(want) || l.Core().Enabled(want-1) {
				t.Errorf("level = %v, want %v", c.level, want)
			}
		})
	}
}

// TestBrokenSelector checks what a Selector that failed to start (Default's
// fallback) does: it reports its error and never panics.
func TestBrokenSelector(t *testing.T) {
	boom := errors.New("no netlink")
	s := &Selector{err: boom, store: probe.NewStore()}
	ctx := context.Background()
	if _, err := s.Get(ctx, "192.0.2.1", 80); !errors.Is(err, boom) {
		t.Errorf("Get: %v", err)
	}
	if _, err := s.Attempts(ctx, Query{Host: "192.0.2.1", Port: 80}); !errors.Is(err, boom) {
		t.Errorf("Attempts: %v", err)
	}
	if _, err := s.LookupNetIP(ctx, "ip", "192.0.2.1"); !errors.Is(err, boom) {
		t.Errorf("LookupNetIP: %v", err)
	}
	if err := s.Init(ctx); !errors.Is(err, boom) {
		t.Errorf("Init: %v", err)
	}
	s.Report(probe.Outcome{})
	_ = s.Status()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestDefaultCloseSuspends checks that Close on the default Selector, which
// the whole process shares, only suspends it: its next use starts its
// goroutines again (a closed default would rank from a frozen snapshot for
// the rest of the process).
func TestDefaultCloseSuspends(t *testing.T) {
	s := newDefault(func(string) string { return "" })
	if s.err != nil {
		t.Skipf("the default Selector cannot start here: %v", s.err)
	}
	defer s.Suspend()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if s.running() {
		t.Fatal("still running after Close")
	}
	if _, err := s.Get(t.Context(), "127.0.0.1", 80); err != nil {
		t.Fatal(err)
	}
	if !s.running() {
		t.Error("Close stopped the default Selector for good: its next use did not start it")
	}
}
