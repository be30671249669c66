package pairs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap/zapcore"

	"github.com/getapr/getapr/netstate"
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

// staticStart is a start for newDefault that needs no host: New over a
// watcher of its own, without probing, with the options newDefault gives.
func staticStart(opts ...Option) (*Selector, error) {
	return New(append(opts, WithWatcher(netstate.NewStatic(homeSnapshot())), WithoutProbing())...)
}

// TestDefaultCannotReadHost: a default Selector whose Monitor cannot start
// (rtnetlink and its fallback both fail, or a system without either) knows
// no source and makes every dial net.Dialer's, rather than fail every dial:
// Attempts gives Fallback pairs, Init and Status work, Close only suspends. It
// says why on stderr, with logging off.
func TestDefaultCannotReadHost(t *testing.T) {
	var stderr bytes.Buffer
	s := newDefault(func(string) string { return "" }, &stderr, func(...Option) (*Selector, error) {
		return nil, errors.New("netstate: dialing rtnetlink: address family not supported by protocol")
	})
	ctx := context.Background()
	ps, err := s.Attempts(ctx, Query{Network: "tcp", Host: "192.0.2.1", Port: 80})
	if err != nil || len(ps) != 1 || !ps[0].Fallback || ps[0].Dst != netip.MustParseAddrPort("192.0.2.1:80") {
		t.Errorf("Attempts: %v, %v; want net.Dialer's one dial to 192.0.2.1:80 (a Fallback pair)", ps, err)
	}
	ps, err = s.Attempts(ctx, Query{Network: "tcp", Host: "127.0.0.1", Port: 80})
	if err != nil || len(ps) != 1 || ps[0].Dst != netip.MustParseAddrPort("127.0.0.1:80") {
		t.Errorf("Attempts: %v, %v; want one dial to 127.0.0.1:80", ps, err)
	}
	if addrs, err := s.LookupNetIP(ctx, "ip", "192.0.2.1"); err != nil || len(addrs) != 1 {
		t.Errorf("LookupNetIP: %v, %v", addrs, err)
	}
	if err := s.Init(ctx); err != nil {
		t.Errorf("Init: %v", err)
	}
	if st := s.Status(); st.GUAOK || st.IPv4OK {
		t.Errorf("Status without a host: %+v", st)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := s.Attempts(ctx, Query{Network: "tcp", Host: "127.0.0.1", Port: 80}); err != nil {
		t.Errorf("Attempts after Close (which only suspends the default): %v", err)
	}
	if !strings.Contains(stderr.String(), "cannot read the host") || !strings.Contains(stderr.String(), "rtnetlink") {
		t.Errorf("stderr: %q; want why the default Selector knows no source", stderr.String())
	}
}

// TestDefaultReportsUnusableEnvironment: values of GETAPR_* that cannot be
// used are ignored, and said so on stderr, also when GETAPR_LOG (the logging
// they would otherwise go to) is itself unusable, unset or above warn.
func TestDefaultReportsUnusableEnvironment(t *testing.T) {
	env := map[string]string{EnvLog: "verbose", EnvProbeTargets: "not-a-target", EnvPREF64: "64:ff9b::/33x"}
	var stderr bytes.Buffer
	s := newDefault(func(k string) string { return env[k] }, &stderr, staticStart)
	defer s.Suspend()
	for _, name := range []string{EnvLog, EnvProbeTargets, EnvPREF64} {
		if !strings.Contains(stderr.String(), name+": ") {
			t.Errorf("stderr says nothing of %s: %q", name, stderr.String())
		}
	}
	// GETAPR_LOG=error logs no warnings: the unusable values are said on
	// stderr all the same.
	stderr.Reset()
	env = map[string]string{EnvLog: "error", EnvProbeTargets: "not-a-target"}
	s1 := newDefault(func(k string) string { return env[k] }, &stderr, staticStart)
	defer s1.Suspend()
	if !strings.Contains(stderr.String(), EnvProbeTargets+": ") {
		t.Errorf("GETAPR_LOG=error: stderr says nothing of %s: %q", EnvProbeTargets, stderr.String())
	}
	stderr.Reset()
	env = map[string]string{EnvLog: "error", EnvProbeTargets: "192.0.2.7:80"}
	s2 := newDefault(func(k string) string { return env[k] }, &stderr, staticStart)
	defer s2.Suspend()
	if stderr.Len() != 0 {
		t.Errorf("usable settings, stderr: %q", stderr.String())
	}
}

// TestDefaultCloseSuspends checks that Close on the default Selector, which
// the whole process shares, only suspends it: its next use starts its
// goroutines again (a closed default would rank from a frozen snapshot for
// the rest of the process).
func TestDefaultCloseSuspends(t *testing.T) {
	s := newDefault(func(string) string { return "" }, io.Discard, New)
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
