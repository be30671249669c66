package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// File locations. A lab's state directory holds state.json (its facts), owner
// (pid and start time of the process that runs it) and ctl.sock.
const (
	stateRoot = "/run/getapr-lab"
	netnsDir  = "/var/run/netns/" // where ip netns keeps its named namespaces
	etcNetns  = "/etc/netns"
	// EnvState names the environment variable that points a test binary at the
	// state file of the lab it runs in.
	EnvState = "GETAPR_LAB"
)

func stateDir(name string) string { return filepath.Join(stateRoot, name) }

// facts is what a process needs to use a lab it does not run: written to
// state.json at bring-up, and returned by the owner on request.
type facts struct {
	Name       string    `json:"name"`
	Namespaces []string  `json:"namespaces"`
	Client     string    `json:"client"`
	Uplinks    [2]Uplink `json:"uplinks"`
	Server     Server    `json:"server"`
	NAT64      NAT64     `json:"nat64"`
	Control    string    `json:"control"` // the control socket
	State      string    `json:"state"`   // this file
}

func newFacts(p *plan, dir string, rtt [2]time.Duration) facts {
	return facts{
		Name:       p.Name,
		Namespaces: p.namespaces(),
		Client:     p.ns(roleClient),
		Uplinks:    [2]Uplink{p.uplink(0, rtt[0]), p.uplink(1, rtt[1])},
		Server:     p.server(),
		NAT64:      NAT64{Uplink: p.NAT64.Uplink, Prefix: p.NAT64.Prefix},
		Control:    filepath.Join(dir, "ctl.sock"),
		State:      filepath.Join(dir, "state.json"),
	}
}

func writeFacts(dir string, f facts) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "state.json.tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "state.json"))
}

func readFacts(path string) (facts, error) {
	var f facts
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("lab: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("lab: %s: %w", path, err)
	}
	return f, nil
}

// writeNetnsEtc gives the client namespace its own resolv.conf (the lab DNS)
// and hosts (localhost only), which ip netns exec mounts over /etc.
func writeNetnsEtc(ns string) error {
	dir := filepath.Join(etcNetns, ns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	host, _, _ := strings.Cut(dnsAddr, ":")
	files := map[string]string{
		"resolv.conf": "# getapr lab " + ns + "\nnameserver " + host + "\n",
		"hosts":       "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// procInfo is what /proc/<pid>/stat says about a process: its state letter and
// start time (clock ticks after boot), which together with the pid identify it.
func procInfo(pid int) (state byte, start uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, errors.New("malformed stat")
	}
	fields := strings.Fields(s[i+1:]) // fields[0] is field 3 (state); start time is field 22
	if len(fields) < 20 {
		return 0, 0, errors.New("malformed stat")
	}
	start, err = strconv.ParseUint(fields[19], 10, 64)
	return fields[0][0], start, err
}

// writeOwner records this process as the lab's owner.
func writeOwner(dir string) error {
	pid := os.Getpid()
	_, start, err := procInfo(pid)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "owner"), fmt.Appendf(nil, "%d %d\n", pid, start), 0o600)
}

// liveOwner returns the pid of the lab's owner if that very process (same pid
// and start time) still runs and is not a zombie, and is not this process.
func liveOwner(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "owner"))
	if err != nil {
		return 0, false
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscanf(string(b), "%d %d", &pid, &start); err != nil || pid == os.Getpid() {
		return 0, false
	}
	st, s, err := procInfo(pid)
	if err != nil || s != start || st == 'Z' || st == 'X' {
		return 0, false
	}
	return pid, true
}

// Down tears down the lab called name, whoever runs it: it asks the owning
// process to shut down (and kills it if it does not within two seconds), then
// removes whatever is left: the namespaces (by name), /etc/netns/<client> and
// the state directory. A lab that does not exist is not an error.
func Down(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	dir := stateDir(name)
	if pid, ok := liveOwner(dir); ok {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, _ = callCtl(cctx, filepath.Join(dir, "ctl.sock"), request{Op: opShutdown})
		cancel()
		if !waitGone(ctx, dir, 2*time.Second) {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
			waitGone(ctx, dir, 2*time.Second)
		}
	}
	p := newPlan(name)
	return removeLab(ctx, &p)
}

// waitGone waits up to d for the owner recorded in dir to be gone.
func waitGone(ctx context.Context, dir string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, ok := liveOwner(dir); !ok {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	_, ok := liveOwner(dir)
	return !ok
}

// removeLab deletes the lab's namespaces that exist (by name: never any other),
// its /etc/netns directory and its state directory.
func removeLab(ctx context.Context, p *plan) error {
	var existing []string
	for _, ns := range p.namespaces() {
		if _, err := os.Stat(netnsDir + ns); err == nil {
			existing = append(existing, ns)
		}
	}
	err := runStages(ctx, stage{netnsCmd("del", false, existing)})
	return errors.Join(err,
		os.RemoveAll(filepath.Join(etcNetns, p.ns(roleClient))),
		os.RemoveAll(stateDir(p.Name)))
}

// checkName accepts lab names that make valid, unambiguous namespace names.
func checkName(name string) error {
	if name == "" || len(name) > 40 {
		return fmt.Errorf("lab: name %q: want 1 to 40 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("lab: name %q: want only a-z, 0-9, - and _", name)
		}
	}
	return nil
}

// sanitizeName turns s into a valid lab name (lower case, other characters
// replaced by '-').
func sanitizeName(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	if len(b) > 30 {
		b = b[:30]
	}
	return string(b)
}
