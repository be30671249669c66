//go:build lab && linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// The commands against the real library inside the lab's client namespace: the
// same run that main calls, with the host's own netstate monitor and prober.

func TestMain(m *testing.M) { os.Exit(lab.Main(m, lab.Options{})) }

// runLab runs the command line in-process and logs what it printed.
func runLab(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(t.Context(), args, &stdout, &stderr)
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: code}
	t.Logf("$ getapr %s  (%v)\n%v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond), r)
	return r
}

// probeTargets are the flags that make the prober try the lab server, a global
// destination: that is how NAT44 and NPTv6 are detected.
func probeTargets(l *lab.Lab) []string {
	srv := l.Server()
	port := strconv.Itoa(int(srv.Port))
	return []string{
		"--probe-target", net.JoinHostPort(srv.Open6.String(), port),
		"--probe-target", net.JoinHostPort(srv.Open4.String(), port),
	}
}

func TestLabStatus(t *testing.T) {
	l := lab.Current(t)
	r := runLab(t, append([]string{"status", "--wait", "--json", "--timeout", "15s"}, probeTargets(l)...)...)
	if r.code != exitOK {
		t.Fatalf("exit %d", r.code)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"NAT44", "NPTv6", "NAT44_tried", "NPTv6_tried", "GUA_ok", "IPv4_ok", "ULA_present", "RFC1918"} {
		if st[flag] != true {
			t.Errorf("%s = %v after --wait, want true", flag, st[flag])
		}
	}
	if gw := st["def_gateway4"]; gw != l.Uplink(0).Router4.String() {
		t.Errorf("def_gateway4 = %v, want uplink 0's router %v", gw, l.Uplink(0).Router4)
	}
	human := runLab(t, "status", "--no-probe")
	for _, want := range []string{l.Uplink(0).ULA.String(), l.Uplink(1).GUA.String(), "rfc1918", "ula"} {
		if !strings.Contains(human.stdout, want) {
			t.Errorf("status lacks %q", want)
		}
	}
}

func TestLabPairsAndLookup(t *testing.T) {
	l := lab.Current(t)
	srv := l.Server()
	args := append([]string{"pairs", srv.Name, strconv.Itoa(int(srv.Port)), "--wait", "--json", "--timeout", "15s"}, probeTargets(l)...)
	r := runLab(t, args...)
	if r.code != exitOK {
		t.Fatalf("exit %d", r.code)
	}
	var got struct {
		Pairs []struct{ Src, Dst, Basis string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	have := make(map[[2]string]string)
	for _, p := range got.Pairs {
		have[[2]string{p.Src, p.Dst}] = p.Basis
	}
	up0, up1 := l.Uplink(0), l.Uplink(1)
	for _, want := range [][2]netip.Addr{
		{up0.ULA, srv.Open6},  // via NPTv6
		{up0.IPv4, srv.Open4}, // via NAT44
		{up0.GUA, srv.Open6},
		{up1.GUA, srv.Open6},
		{up1.IPv4, srv.Open4},
	} {
		if _, ok := have[[2]string{want[0].String(), want[1].String()}]; !ok {
			t.Errorf("no pair %v -> %v", want[0], want[1])
		}
	}
	if b := have[[2]string{up0.GUA.String(), srv.Open6.String()}]; b != "measured" {
		t.Errorf("pair from uplink 0's GUA to the probed server: basis %q, want measured", b)
	}
	lk := runLab(t, "lookup", srv.Name, "--no-probe")
	if lk.code != exitOK || !strings.Contains(lk.stdout, srv.Open6.String()) || !strings.Contains(lk.stdout, srv.Open4.String()) {
		t.Errorf("lookup %s: want %v and %v", srv.Name, srv.Open6, srv.Open4)
	}
	if r := runLab(t, "lookup", "nosuch."+srv.Name, "--no-probe"); r.code != exitUsage {
		t.Errorf("lookup of an unknown name: exit %d, want %d", r.code, exitUsage)
	}
}

func TestLabDialBlackholed(t *testing.T) {
	l := lab.Current(t)
	srv := l.Server()
	if err := l.Blackhole(0, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Restore(); err != nil {
			t.Error(err)
		}
	})
	addr := net.JoinHostPort(srv.Name, strconv.Itoa(int(srv.Port)))
	r := runLab(t, "dial", addr, "--no-probe", "--json", "--timeout", "5s")
	if r.code != exitOK {
		t.Fatalf("PairDialer with uplink 0 blackholed: exit %d", r.code)
	}
	var got dialJSON
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatal(err)
	}
	up1 := l.Uplink(1)
	if got.Winner == nil || (got.Winner.Local.Addr() != up1.GUA && got.Winner.Local.Addr() != up1.IPv4) {
		t.Errorf("winner %+v, want a source of uplink 1 (%v, %v)", got.Winner, up1.GUA, up1.IPv4)
	}
	if len(got.Attempts) < 2 {
		t.Errorf("%d attempts traced, want the blackholed one and the winner", len(got.Attempts))
	}
	human := runLab(t, "dial", addr, "--no-probe", "--timeout", "5s")
	if human.code != exitOK || !strings.Contains(human.stdout, "won") {
		t.Errorf("human dial: exit %d", human.code)
	}
	std := runLab(t, "dial", addr, "--stdlib", "--no-probe", "--timeout", "2s")
	if std.code != exitNetwork || !strings.Contains(std.stdout, "timeout") {
		t.Errorf("net.Dialer with uplink 0 blackholed: exit %d, want %d and a timeout", std.code, exitNetwork)
	}
}

func TestLabWatchSeesDeadUplink(t *testing.T) {
	l := lab.Current(t)
	srv := l.Server()
	gua0 := l.Uplink(0).GUA.String()
	var stdout, stderr syncBuffer
	c := &cli{stdout: &stdout, stderr: &stderr, newBackend: newRealBackend, buildInfo: fakeBuildInfo, loc: time.UTC}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int)
	args := append([]string{"watch", "--interval", "1s", net.JoinHostPort(srv.Name, strconv.Itoa(int(srv.Port)))}, probeTargets(l)...)
	go func() { done <- c.run(ctx, args) }()
	waitFor(t, &stdout, "+ source "+gua0)
	waitFor(t, &stdout, "~ NAT44: false -> true")
	t.Cleanup(func() {
		if err := l.Restore(); err != nil {
			t.Error(err)
		}
	})
	if err := l.Blackhole(0, true); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitForWithin(t, &stdout, "~ source "+gua0+": eth0 gua alive -> ", 40*time.Second)
	t.Logf("watch reported uplink 0's GUA unhealthy %v after the blackhole", time.Since(start).Round(time.Millisecond))
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("watch exit %d: %s", code, stderr.String())
	}
	t.Logf("watch output:\n%s", stdout.String())
}

// TestLabWatchSparklineClimbs makes uplink 0 five times slower while watch runs:
// the sparkline of the pair from uplink 0's GUA to the server climbs (its
// latest level the highest, an earlier one lower) as the prober measures it.
func TestLabWatchSparklineClimbs(t *testing.T) {
	l := lab.Current(t)
	srv := l.Server()
	gua0 := l.Uplink(0).GUA.String()
	dest := net.JoinHostPort(srv.Name, strconv.Itoa(int(srv.Port)))
	var stdout, stderr syncBuffer
	c := &cli{stdout: &stdout, stderr: &stderr, newBackend: newRealBackend, buildInfo: fakeBuildInfo, loc: time.UTC}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan int)
	go func() { done <- c.run(ctx, append([]string{"watch", "--interval", "1s", dest}, probeTargets(l)...)) }()
	key := "pair " + dest + " " + gua0 + " -> "
	waitForWithin(t, &stdout, key, 10*time.Second)
	measured := regexp.MustCompile(regexp.QuoteMeta(key) + `\S+: .*#\d+ \S+ measured .*[▁▂▃▄▅▆▇█]\n`)
	waitMatch(t, &stdout, measured, 30*time.Second)
	t.Cleanup(func() {
		if err := l.Restore(); err != nil {
			t.Error(err)
		}
	})
	if err := l.SetRTT(0, 5*l.Uplink(0).RTT); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	climbed := regexp.MustCompile(`~ ` + regexp.QuoteMeta(key) + `\S+: .* -> #\d+ \S+ measured .* [▁▂▃▄▅▆▇█]*[▁▂▃▄▅▆▇][▁▂▃▄▅▆▇█]*█\n`)
	waitMatch(t, &stdout, climbed, 45*time.Second)
	t.Logf("the sparkline climbed %v after uplink 0 got five times slower", time.Since(start).Round(time.Millisecond))
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("watch exit %d: %s", code, stderr.String())
	}
	t.Logf("watch output:\n%s", stdout.String())
}

// waitMatch waits until b's text matches re; a failure guard, not a timing
// assertion.
func waitMatch(t *testing.T, b *syncBuffer, re *regexp.Regexp, limit time.Duration) {
	t.Helper()
	for end := time.Now().Add(limit); !re.MatchString(b.String()); {
		if time.Now().After(end) {
			t.Fatalf("output never matched %s:\n%s", re, b.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
