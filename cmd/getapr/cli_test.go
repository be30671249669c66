package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		initDelay time.Duration
		code      int
		stderrHas string // "" means stderr must be empty
	}{
		{"no command", nil, 0, exitUsage, "Usage: getapr"},
		{"unknown command", []string{"frob"}, 0, exitUsage, `unknown command "frob"`},
		{"flag before the command", []string{"--json", "status"}, 0, exitUsage, "flag --json before the command: write getapr COMMAND [ARGS] --json"},
		{"help unknown command", []string{"help", "frob"}, 0, exitUsage, `unknown command "frob"`},
		{"bad flag", []string{"pairs", "server.test", "--bogus"}, 0, exitUsage, "flag provided but not defined: -bogus"},
		{"bad timeout", []string{"status", "--timeout", "soon"}, 0, exitUsage, `invalid value "soon"`},
		{"zero timeout", []string{"dial", "127.0.0.1:80", "--timeout", "0"}, 0, exitUsage, "--timeout must be positive"},
		{"negative timeout", []string{"pairs", "127.0.0.1", "--timeout", "-1s"}, 0, exitUsage, "--timeout must be positive"},
		{"bad log level", []string{"status", "--log-level", "loud"}, 0, exitUsage, `unknown level "loud"`},
		{"bad probe target", []string{"status", "--probe-target", "192.0.2.1"}, 0, exitUsage, "want HOST:PORT"},
		{"multicast probe target", []string{"status", "--probe-target", "224.0.0.1:80"}, 0, exitUsage, "224.0.0.1: a multicast address, never probed"},
		{"link-local probe target", []string{"status", "--probe-target", "[fe80::1%eth0]:80"}, 0, exitUsage, "a link-local address, never probed"},
		{"unspecified probe target", []string{"status", "--probe-target", "[::]:80"}, 0, exitUsage, "the unspecified address"},
		{"private probe target", []string{"status", "--probe-target", "10.0.0.1:80"}, 0, exitUsage, "write private:HOST:PORT"},
		{"private probe target marked", []string{"status", "--probe-target", "private:10.0.0.1:80"}, 0, exitOK, ""},
		{"bad host", []string{"pairs", "exa..mple"}, 0, exitUsage, `bad host "exa..mple": empty label`},
		{"bad host character", []string{"lookup", "a/b"}, 0, exitUsage, `character '/' not allowed`},
		{"bad IPv6 literal", []string{"pairs", "2001:db8::g"}, 0, exitUsage, "not an IP address"},
		{"bad port", []string{"pairs", "server.test", "70000"}, 0, exitUsage, `bad port "70000": not in 1..65535`},
		{"bad service", []string{"pairs", "server.test", "nosuchservice"}, 0, exitUsage, `bad port "nosuchservice"`},
		{"dial without port", []string{"dial", "server.test"}, 0, exitUsage, "want HOST:PORT"},
		{"dial port zero", []string{"dial", "server.test:0"}, 0, exitUsage, "bad port"},
		{"too many args", []string{"pairs", "a", "1", "2"}, 0, exitUsage, "want HOST [PORT], got 3 arguments"},
		{"pairs HOST:PORT", []string{"pairs", "server.test:443"}, 0, exitOK, ""},
		{"pairs [HOST]", []string{"pairs", "[server.test]"}, 0, exitOK, ""},
		{"pairs port twice", []string{"pairs", "server.test:443", "80"}, 0, exitUsage, `port given twice`},
		{"pairs bad inline port", []string{"pairs", "server.test:x"}, 0, exitUsage, `bad port "x"`},
		{"status args", []string{"status", "x"}, 0, exitUsage, "status takes no arguments"},
		{"both families", []string{"lookup", "server.test", "-4", "-6"}, 0, exitUsage, "-4 and -6 exclude each other"},
		{"bad watch dest", []string{"watch", "server.test:x"}, 0, exitUsage, `bad port "x"`},
		{"watch interval", []string{"watch", "--interval", "0s"}, 0, exitUsage, "--interval must be positive"},
		{"unknown name", []string{"pairs", "nosuch.test"}, 0, exitUsage, "lookup nosuch.test: no such host"},
		{"unknown name lookup", []string{"lookup", "nosuch.test"}, 0, exitUsage, "no such host"},
		{"dial failure", []string{"dial", "down.test:443"}, 0, exitNetwork, "all 2 attempts failed: dial tcp"},
		{"stdlib timeout", []string{"dial", "--stdlib", "down.test:443"}, 0, exitNetwork, "i/o timeout"},
		{"no pairs", []string{"pairs", "nopairs.test"}, 0, exitNetwork, "no usable (source, destination) pair"},
		// The first round lasts as long as its slowest probe: up to the
		// prober's timeout (5 s) when a gateway does not answer.
		{"wait for a probe timing out", []string{"status", "--wait"}, probe.DefaultProbeTimeout + 100*time.Millisecond, exitOK, ""},
		{"wait longer than --timeout", []string{"status", "--wait", "--timeout", "1s"}, 2 * time.Second, exitOK, ""},
		{"wait gives up", []string{"status", "--wait"}, time.Minute, exitOK, "the first probe round did not end within 6s; answering with what is known"},
		{"wait ok", []string{"status", "--wait"}, time.Second, exitOK, ""},
		{"wait without probing", []string{"status", "--wait", "--no-probe"}, 0, exitUsage, "--wait and --probe-target need probing"},
		{"probe target without probing", []string{"pairs", "server.test", "--no-probe", "--probe-target", "[2001:db8::1]:80"}, 0, exitUsage, "need probing"},
		{"success", []string{"pairs", "server.test", "443"}, 0, exitOK, ""},
		{"dial success", []string{"dial", "server.test:443"}, 0, exitOK, ""},
		{"help", []string{"help", "dial"}, 0, exitOK, ""},
		{"flag help", []string{"status", "--help"}, 0, exitOK, ""},
		{"double dash", []string{"lookup", "--", "server.test"}, 0, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fb := newScenario()
				fb.initDelay = tt.initDelay
				r := runFake(fb, 0, tt.args...)
				if r.code != tt.code {
					t.Errorf("exit %d, want %d\n%v", r.code, tt.code, r)
				}
				switch {
				case tt.stderrHas == "" && r.stderr != "":
					t.Errorf("stderr = %q, want empty", r.stderr)
				case !strings.Contains(r.stderr, tt.stderrHas):
					t.Errorf("stderr = %q, want it to contain %q", r.stderr, tt.stderrHas)
				case tt.code != exitOK && len(tt.args) > 0 && strings.Count(r.stderr, "\n") != 1:
					t.Errorf("stderr has %d lines, want one: %q", strings.Count(r.stderr, "\n"), r.stderr)
				}
			})
		})
	}
}

func TestOpenError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	c := newFakeCLI(nil, &stdout, &stderr)
	c.newBackend = func(context.Context, backendOptions) (backend, error) {
		return nil, errors.New("netlink: permission denied")
	}
	if code := c.run(t.Context(), []string{"status"}); code != exitNetwork {
		t.Errorf("exit %d, want %d", code, exitNetwork)
	}
	if want := "getapr status: netlink: permission denied\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
}

func TestBackendOptions(t *testing.T) {
	share := filepath.Join(t.TempDir(), "pairs.json")
	tests := []struct {
		name  string
		args  []string
		want  backendOptions
		level zap.AtomicLevel // unused when nop
		debug bool            // the logger must be enabled at debug
	}{
		{name: "defaults", args: []string{"status"},
			want: backendOptions{Eager: true, Timeout: defaultTimeout}},
		{name: "quiet for pairs", args: []string{"pairs", "server.test", "80"},
			want: backendOptions{Timeout: defaultTimeout}},
		{name: "all flags after args", args: []string{"pairs", "server.test", "80",
			"--probe-target", "192.0.2.9:80", "--probe-target=[2001:db8::9]:443",
			"--share=" + share, "--timeout", "2s", "--log-level", "debug"},
			want: backendOptions{ProbeTargets: []string{"192.0.2.9:80", "[2001:db8::9]:443"},
				Share: share, Timeout: 2 * time.Second},
			debug: true},
		{name: "no probing", args: []string{"pairs", "server.test", "--no-probe"},
			want: backendOptions{NoProbe: true, Timeout: defaultTimeout}},
		{name: "share default", args: []string{"status", "--share"},
			want: backendOptions{Eager: true, Share: mustSharePath(t), Timeout: defaultTimeout}},
		{name: "attempt delay", args: []string{"dial", "--attempt-delay=-1ms", "server.test:443"},
			want: backendOptions{AttemptDelay: -time.Millisecond, Timeout: defaultTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fb := newScenario()
				if r := runFake(fb, 0, tt.args...); r.code != exitOK {
					t.Fatalf("run: %v", r)
				}
				got := fb.opts
				if got.Logger == nil {
					t.Fatal("Logger is nil")
				}
				if e := got.Logger.Core().Enabled(zap.DebugLevel); e != tt.debug {
					t.Errorf("logger enabled at debug = %v, want %v", e, tt.debug)
				}
				got.Logger = nil
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(backendOptions{})); diff != "" {
					t.Errorf("options (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func mustSharePath(t *testing.T) string {
	p, err := probe.DefaultSharePath()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLogsGoToStderr(t *testing.T) {
	var stderr bytes.Buffer
	o := &options{}
	if err := o.logLevel.Set("info"); err != nil {
		t.Fatal(err)
	}
	o.logger(&stderr).Named("pairs").Info("hello", zap.Int("n", 1))
	if !strings.Contains(stderr.String(), "pairs\thello") {
		t.Errorf("log output %q, want the named message", stderr.String())
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args    []string
		pos     []string
		json    bool
		timeout time.Duration
	}{
		{nil, nil, false, time.Second},
		{[]string{"host", "443", "--json"}, []string{"host", "443"}, true, time.Second},
		{[]string{"--json", "host", "-timeout", "2s", "443"}, []string{"host", "443"}, true, 2 * time.Second},
		{[]string{"host", "--", "--json"}, []string{"host", "--json"}, false, time.Second},
		{[]string{"--", "-x"}, []string{"-x"}, false, time.Second},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			js := fs.Bool("json", false, "")
			to := fs.Duration("timeout", time.Second, "")
			pos, err := parseInterspersed(fs, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(pos, tt.pos) || *js != tt.json || *to != tt.timeout {
				t.Errorf("got %q json=%v timeout=%v, want %q %v %v", pos, *js, *to, tt.pos, tt.json, tt.timeout)
			}
		})
	}
}

func TestParseDest(t *testing.T) {
	tests := []struct {
		in      string
		def     int
		want    dest
		wantErr string
	}{
		{"example.com", 443, dest{"example.com", 443}, ""},
		{"example.com:80", 443, dest{"example.com", 80}, ""},
		{"example.com:http", 0, dest{"example.com", 80}, ""},
		{"[2001:db8::1]:22", 0, dest{"2001:db8::1", 22}, ""},
		{"2001:db8::1", 443, dest{"2001:db8::1", 443}, ""},
		{"[2001:db8::1]", 443, dest{"2001:db8::1", 443}, ""},
		{"[fe80::1%eth0]:22", 0, dest{"fe80::1%eth0", 22}, ""},
		{"192.0.2.1.", 443, dest{}, ""},
		{"trailing.dot.", 443, dest{"trailing.dot.", 443}, ""},
		{"example.com", 0, dest{}, "want HOST:PORT"},
		{":80", 0, dest{"", 80}, ""}, // the local system, as for net.Dialer
		{"", 443, dest{}, "empty host"},
		{"[]", 443, dest{}, "empty host"},
		{"-bad.example:80", 0, dest{}, "starts or ends with '-'"},
		{strings.Repeat("a", 64) + ".example:80", 0, dest{}, "label longer than 63"},
		{strings.Repeat("a.", 127) + "ab:80", 0, dest{}, "longer than 253"},
		{"example.com:65536", 0, dest{}, "not in 1..65535"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDest(tt.in, tt.def)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseDest(%q) error %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if tt.want == (dest{}) {
				return // only "no panic" matters for odd but harmless input
			}
			if err != nil || got != tt.want {
				t.Errorf("parseDest(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		fb := newScenario()
		fb.initDelay = 950 * time.Millisecond
		c := newFakeCLI(fb, &stdout, &stderr)
		c.tty = true
		if code := c.run(t.Context(), []string{"status", "--wait"}); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		// Frames every 100 ms from 200 ms until Init returns at 950 ms: eight.
		var want strings.Builder
		for i := range 8 {
			want.WriteString("\r" + string(`|/-\`[i%4]) + " waiting for the first probe round")
		}
		want.WriteString("\r\x1b[K")
		if stderr.String() != want.String() {
			t.Errorf("stderr = %q, want %q", stderr.String(), want.String())
		}
	})
}

func TestNoProgressWhenQuick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		fb := newScenario()
		fb.initDelay = 100 * time.Millisecond
		c := newFakeCLI(fb, &stdout, &stderr)
		c.tty = true
		if code := c.run(t.Context(), []string{"status", "--wait"}); code != exitOK || stderr.Len() != 0 {
			t.Errorf("exit %d, stderr %q; want 0 and nothing", code, stderr.String())
		}
	})
}

func TestStatusFieldsNAT64(t *testing.T) {
	st := scenarioStatus()
	st.NAT64, st.PREF64, st.PREF64Source = true, netip.MustParsePrefix("2001:db8:6464::/96"), "ra"
	st.NAT64Links = []probe.NAT64Link{{Interface: "eth1", Prefix: st.PREF64, Source: "ra", Router: netip.MustParseAddr("fe80::b%eth1")}}
	got := map[string]string{}
	for _, f := range statusFields(st) {
		got[f.key] = f.value
	}
	for k, want := range map[string]string{"NAT64": "true", "PREF64": "2001:db8:6464::/96", "PREF64_source": "ra",
		"nat64 eth1": "2001:db8:6464::/96 ra from fe80::b%eth1"} {
		if got[k] != want {
			t.Errorf("%s = %q; want %q", k, got[k], want)
		}
	}
	if f := statusFields(scenarioStatus()); f[len(f)-1].key != "PREF64_source" || f[len(f)-1].value != "-" {
		t.Errorf("without NAT64 the last field is %+v; want PREF64_source -", f[len(f)-1])
	}
}

func TestPREF64Flag(t *testing.T) {
	var l pref64List
	env := func(v string) func(string) string { return func(string) string { return v } }
	if ps, err := l.configured(env("2001:db8:6464::/96")); err != nil || len(ps) != 1 || ps[0].Prefix.Bits() != 96 {
		t.Fatalf("from the environment: %v, %v", ps, err)
	}
	if err := l.Set("64:ff9b::/96%eth1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Set("64:ff9b::/95"); err == nil {
		t.Error("a /95 was accepted")
	}
	ps, err := l.configured(env("2001:db8:6464::/96"))
	if err != nil || len(ps) != 1 || ps[0].Interface != "eth1" || l.String() != "64:ff9b::/96%eth1" {
		t.Fatalf("the flag over the environment: %v, %v (%s)", ps, err, l.String())
	}
	var bad pref64List
	if _, err := bad.configured(env("nonsense")); err == nil {
		t.Error("a bad environment value was accepted")
	}
}

// fullWriter fails every write, as stdout on a full disk does.
type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) {
	return 0, errors.New("write /dev/stdout: no space left on device")
}

// TestWriteError checks that output that could not be written is a failure,
// in text as in JSON.
func TestWriteError(t *testing.T) {
	for _, args := range [][]string{
		{"pairs", "server.test", "443"}, {"pairs", "server.test", "443", "--json"},
		{"status"}, {"lookup", "server.test"}, {"dial", "server.test:443"}, {"version"},
	} {
		synctest.Test(t, func(t *testing.T) {
			var stderr bytes.Buffer
			c := newFakeCLI(newScenario(), nil, &stderr)
			c.stdout = fullWriter{}
			if code := c.run(t.Context(), args); code == exitOK || !strings.Contains(stderr.String(), "no space left") {
				t.Errorf("%q to a full stdout: exit %d, stderr %q", args, code, stderr.String())
			}
		})
	}
}

// TestBadZone checks that dial and watch refuse a zone naming none of the host's
// interfaces as bad input; dial tried it (exit 1), watch watched it.
func TestBadZone(t *testing.T) {
	for _, args := range [][]string{
		{"dial", "[fe80::1%nosuchif]:80"},
		{"watch", "server.test", "fe80::1%nosuchif"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := runFake(newScenario(), time.Minute, args...)
				want := "getapr " + args[0] + `: bad host "fe80::1%nosuchif": no interface "nosuchif"` + "\n"
				if r.code != exitUsage || r.stderr != want {
					t.Errorf("%v\nwant exit %d, stderr %q", r, exitUsage, want)
				}
			})
		})
	}
}

// TestErrorPrefixOnce checks that a line naming the command does not repeat the
// library's "pairs: " prefix: it said "getapr pairs: pairs: no usable pair ...",
// in watch "pairs HOST:443: error: pairs: no usable pair ...", and in every
// command "getapr CMD: pairs: GETAPR_PREF64 ...".
func TestErrorPrefixOnce(t *testing.T) {
	noPair := &pairs.NoPairError{Host: "nopair.test", Reasons: []string{"2001:db8:ff::2: no ipv6 source"}}
	want := "no usable pair for nopair.test: 2001:db8:ff::2: no ipv6 source"
	t.Run("pairs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fb := newScenario()
			fb.getErrs = map[string]error{"nopair.test": noPair}
			r := runFake(fb, 0, "pairs", "nopair.test")
			if r.code != exitNetwork || r.stderr != "getapr pairs: "+want+"\n" {
				t.Errorf("%v\nwant exit %d, stderr %q", r, exitNetwork, "getapr pairs: "+want+"\n")
			}
		})
	})
	t.Run("watch", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fb := newScenario()
			fb.getErrs = map[string]error{"nopair.test": noPair}
			r := runFake(fb, time.Second, "watch", "nopair.test")
			line := "+ pairs nopair.test:443: error: " + want + "\n"
			if r.code != exitOK || !strings.Contains(r.stdout, line) || r.stderr != "" {
				t.Errorf("%v\nwant a line ending %q", r, line)
			}
		})
	})
	// Every command reads GETAPR_PREF64, whose errors the library prefixes too.
	t.Setenv(pairs.EnvPREF64, "64:ff9b::/95")
	for _, args := range [][]string{
		{"pairs", "server.test"}, {"dial", "server.test:443"}, {"watch", "server.test"}, {"status"},
	} {
		t.Run(args[0]+" "+pairs.EnvPREF64, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := runFake(newScenario(), time.Second, args...)
				rest, ok := strings.CutPrefix(r.stderr, "getapr "+args[0]+": ")
				if r.code != exitUsage || !ok || strings.HasPrefix(rest, "pairs: ") || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("%v\nwant exit %d and one line saying its prefix once", r, exitUsage)
				}
			})
		})
	}
}

// TestPREF64Source checks that a bad --pref64 is blamed on the flag and a bad
// GETAPR_PREF64 on the variable: a bad flag said "pairs: GETAPR_PREF64 ...".
func TestPREF64Source(t *testing.T) {
	tests := []struct {
		name, env string
		args      []string
		code      int
		has       string // "" means stderr must be empty
		hasNot    string
	}{
		{"bad flag", "", []string{"status", "--pref64", "bogus"}, exitUsage,
			`invalid value "bogus" for flag -pref64: "bogus": `, pairs.EnvPREF64},
		{"bad field of the flag", "", []string{"pairs", "server.test", "--pref64=64:ff9b::/96,64:ff9b::/95%eth1"}, exitUsage,
			`for flag -pref64: "64:ff9b::/95%eth1": not a NAT64 prefix`, pairs.EnvPREF64},
		{"bad flag, good variable", "64:ff9b::/96", []string{"dial", "server.test:443", "--pref64", "bogus"}, exitUsage,
			`for flag -pref64: "bogus": `, pairs.EnvPREF64},
		{"bad variable", "64:ff9b::/96,bogus", []string{"watch"}, exitUsage,
			`getapr watch: $GETAPR_PREF64: "bogus": `, "flag"},
		{"the flag over a bad variable", "bogus", []string{"status", "--pref64", "64:ff9b::/96"}, exitOK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(pairs.EnvPREF64, tt.env)
			synctest.Test(t, func(t *testing.T) {
				r := runFake(newScenario(), time.Second, tt.args...)
				switch {
				case r.code != tt.code:
					t.Errorf("%v\nwant exit %d", r, tt.code)
				case tt.has == "" && r.stderr != "":
					t.Errorf("stderr %q, want empty", r.stderr)
				case !strings.Contains(r.stderr, tt.has) || strings.Count(r.stderr, "\n") > 1:
					t.Errorf("stderr %q, want one line containing %q", r.stderr, tt.has)
				case tt.hasNot != "" && strings.Contains(r.stderr, tt.hasNot):
					t.Errorf("stderr %q names %q", r.stderr, tt.hasNot)
				}
			})
		})
	}
}

// TestWatchDuplicateDest: the same destination named twice (as HOST and
// HOST:443, or twice verbatim) is watched once: every pair line is printed once
// (it was twice, and each change too).
func TestWatchDuplicateDest(t *testing.T) {
	for _, args := range [][]string{
		{"watch", "server.test", "server.test:443"},
		{"watch", "--json", "server.test", "server.test"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := runFake(newScenario(), 2*time.Second, args...)
				key := "pair server.test:443 2001:db8:a::10 -> [2001:db8:ff::1]:443"
				if n := strings.Count(r.stdout, key); n != 1 {
					t.Errorf("%q printed %d times, want once\n%v", key, n, r)
				}
			})
		})
	}
}

// TestWatchWaitInterrupted: watch ends with Ctrl-C, exit 0 and nothing on
// stderr, also when the Ctrl-C comes during --wait's first probe round (that
// was exit 1, "waiting for the first probe round: context canceled").
func TestWatchWaitInterrupted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fb := newScenario()
		fb.initDelay = time.Minute
		r := runFake(fb, 2*time.Second, "watch", "--wait", "server.test")
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("interrupted during --wait: %v\nwant exit 0 and empty stderr, as any other interrupted watch", r)
		}
	})
}

// A dial that fails before its first attempt (an unknown name) prints no
// attempt table, only the outcome.
func TestPrintDialWithoutAttempts(t *testing.T) {
	var b bytes.Buffer
	printDial(&b, &dialReport{dialJSON: dialJSON{Address: "nosuch.test:443", Dialer: "PairDialer", TotalMS: 1.5}})
	if got, want := b.String(), "failed (PairDialer)\ntotal 1.5ms\n"; got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}
