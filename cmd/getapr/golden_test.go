package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/cli")

// goldenDir holds one file per golden test.
const goldenDir = "../../testdata/cli"

// result is what one run of the command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n-- stdout --\n%s-- stderr --\n%s", r.code, r.stdout, r.stderr)
}

// fakeBuildInfo is a fixed build for the version command.
func fakeBuildInfo() (*debug.BuildInfo, bool) {
	return &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/getapr/getapr", Version: "v0.1.0"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-27T00:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}, true
}

// newFakeCLI returns a cli writing to buffers, running against fb.
func newFakeCLI(fb *fakeBackend, stdout, stderr *bytes.Buffer) *cli {
	return &cli{
		stdout: stdout,
		stderr: stderr,
		newBackend: func(ctx context.Context, o backendOptions) (backend, error) {
			fb.mu.Lock()
			fb.opts = o
			fb.mu.Unlock()
			return fb, nil
		},
		buildInfo: fakeBuildInfo,
		loc:       time.UTC,
	}
}

// runFake runs args against fb for at most d (0: no limit); call it inside a
// synctest bubble.
func runFake(fb *fakeBackend, d time.Duration, args ...string) result {
	var stdout, stderr bytes.Buffer
	ctx := context.Background()
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	code := newFakeCLI(fb, &stdout, &stderr).run(ctx, args)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// goldenCase is one command line and its expected output in testdata/cli/NAME.golden.
type goldenCase struct {
	name   string
	args   []string
	runFor time.Duration         // for watch: cancel after this long
	script func(fb *fakeBackend) // runs beside the command in the bubble
}

func goldenCases() []goldenCase {
	cases := []goldenCase{
		{name: "usage", args: nil},
		{name: "help", args: []string{"-h"}},
		{name: "pairs", args: []string{"pairs", "server.test"}},
		{name: "pairs_json", args: []string{"pairs", "server.test", "8443", "--json"}},
		{name: "pairs_linklocal", args: []string{"pairs", "fe80::1%eth0", "22"}},
		{name: "pairs_none", args: []string{"pairs", "nopairs.test", "--json"}},
		{name: "pairs_nat64", args: []string{"pairs", "192.0.2.10", "80"}},
		{name: "pairs_nat64_json", args: []string{"pairs", "192.0.2.10", "80", "--json"}},
		{name: "lookup", args: []string{"lookup", "server.test"}},
		{name: "lookup_6_json", args: []string{"lookup", "--json", "server.test", "-6"}},
		{name: "status", args: []string{"status"}},
		{name: "status_json", args: []string{"status", "--json"}},
		{name: "dial", args: []string{"dial", "server.test:443"}},
		{name: "dial_json", args: []string{"dial", "server.test:https", "--json"}},
		{name: "dial_failed", args: []string{"dial", "down.test:443"}},
		{name: "dial_failed_json", args: []string{"dial", "down.test:443", "--json"}},
		{name: "dial_stdlib", args: []string{"dial", "--stdlib", "server.test:443"}},
		{name: "dial_fallback_json", args: []string{"dial", "fallback.test:8080", "--json"}},
		{name: "dial_tls_json", args: []string{"dial", "--tls", "server.test:443", "--json"}},
		{name: "dial_stdlib_timeout", args: []string{"dial", "down.test:443", "--stdlib", "--json"}},
		{name: "watch", args: []string{"watch", "server.test"}, runFor: 35 * time.Second, script: watchScript},
		{name: "watch_json", args: []string{"watch", "--json", "server.test:80"}, runFor: 35 * time.Second, script: watchScript},
		{name: "version", args: []string{"version"}},
		{name: "version_json", args: []string{"version", "--json"}},
	}
	for _, cmd := range commands() {
		cases = append(cases, goldenCase{name: cmd.name + "_help", args: []string{cmd.name, "-h"}})
	}
	return cases
}

// watchScript changes the host while watch runs: at 3 s NAT44 is detected (with a
// netstate event), at 14 s a latency moves (seen at the 20 s tick), at 25 s a
// source disappears (event), at 27 s the best pair gets five times slower (seen
// at the 30 s tick: its sparkline climbs).
func watchScript(fb *fakeBackend) {
	time.Sleep(3 * time.Second)
	fb.change(true, func(f *fakeBackend) { f.status.NAT44 = true })
	time.Sleep(11 * time.Second)
	fb.change(false, func(f *fakeBackend) { f.pairs["server.test"][0].Latency = 18 * time.Millisecond })
	time.Sleep(11 * time.Second)
	fb.change(true, func(f *fakeBackend) {
		f.status.Sources = f.status.Sources[:len(f.status.Sources)-1]
		f.pairs["server.test"] = f.pairs["server.test"][:4]
	})
	time.Sleep(2 * time.Second)
	fb.change(false, func(f *fakeBackend) { f.pairs["server.test"][0].Latency = 95 * time.Millisecond })
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fb := newScenario()
				if tc.script != nil {
					go tc.script(fb)
				}
				got := runFake(fb, tc.runFor, tc.args...).String()
				got = "$ getapr " + strings.Join(tc.args, " ") + "\n" + got
				checkGolden(t, tc.name, got)
				if fb.opts.Logger != nil && !fb.closed {
					t.Errorf("backend opened but not closed")
				}
			})
		})
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}
