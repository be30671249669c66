package isolate

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// envMode carries the conditions to the child: a comma-separated list of
// "netns" and "nonetlink"; envCommands carries Options.Commands, as JSON.
const (
	envMode     = "GETAPR_ISOLATE"
	envCommands = "GETAPR_ISOLATE_COMMANDS"
)

// Options say what the child runs under.
type Options struct {
	// NewNetNS runs the child in a new network namespace whose only interface
	// is loopback, brought up.
	NewNetNS bool
	// NoNetlink makes every socket(AF_NETLINK, ...) of the child fail with
	// EAFNOSUPPORT.
	NoNetlink bool
	// Commands are run by the child, in order, before rtnetlink is refused:
	// typically "ip" commands that set up its namespace. Only with NewNetNS,
	// so that they change nothing outside it.
	Commands [][]string
}

// String returns the conditions as envMode carries them: "child", then
// ",netns" and ",nonetlink" as asked.
func (o Options) String() string {
	s := []string{"child"}
	if o.NewNetNS {
		s = append(s, "netns")
	}
	if o.NoNetlink {
		s = append(s, "nonetlink")
	}
	return strings.Join(s, ",")
}

// InChild reports whether this process is a child of Run.
func InChild() bool { return os.Getenv(envMode) != "" }

// Current returns the conditions this process runs under, as Run set them
// (without the Commands); the zero Options outside Run.
func Current() Options {
	var o Options
	for _, f := range strings.Split(os.Getenv(envMode), ",") {
		switch f {
		case "netns":
			o.NewNetNS = true
		case "nonetlink":
			o.NoNetlink = true
		}
	}
	return o
}

// Setup puts the process in the conditions Run asked for, if any: it brings
// loopback up in the new namespace, then refuses rtnetlink. TestMain calls it
// before anything else; on error the child must exit.
func Setup() error {
	o := Current()
	if o.NewNetNS {
		if err := loopbackUp(); err != nil {
			return fmt.Errorf("isolate: bringing loopback up: %w", err)
		}
		if err := runCommands(os.Getenv(envCommands)); err != nil {
			return err
		}
	}
	if o.NoNetlink {
		if err := refuseNetlink(); err != nil {
			return fmt.Errorf("isolate: refusing rtnetlink: %w", err)
		}
	}
	return nil
}

// MustSetup is Setup for TestMain: it exits the process with status 2 if
// Setup fails.
func MustSetup() {
	if err := Setup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

// Run runs the tests matching run of this test binary again under o, with -v,
// and logs their output to t. It fails t if they fail or none passed (a skip in
// the child is a failure), and skips t where the conditions cannot be made
// (not root, not Linux, an architecture without the seccomp filter). Run
// inside a child of Run is an error.
func Run(t *testing.T, run string, o Options) {
	t.Helper()
	if InChild() {
		t.Fatal("isolate.Run in a child of isolate.Run")
	}
	if why := unavailable(o); why != "" {
		t.Skip("isolate:", why)
	}
	if len(o.Commands) > 0 && !o.NewNetNS {
		t.Fatal("isolate: Commands without NewNetNS would change this namespace")
	}
	cmds, err := json.Marshal(o.Commands)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, "-test.run", run, "-test.count", "1", "-test.v")
	cmd.Env = append(os.Environ(), envMode+"="+o.String(), envCommands+"="+string(cmds))
	cmd.SysProcAttr = procAttr(o)
	out, err := cmd.CombinedOutput()
	t.Logf("%s under %s:\n%s", run, o, out)
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		t.Fatalf("%s under %s: %v", run, o, err)
	case err != nil:
		t.Fatal(err)
	case !strings.Contains(string(out), "--- PASS"):
		t.Fatalf("%s under %s: no test passed (skipped?)", run, o)
	}
}

// runCommands runs the commands of Options.Commands, given as JSON.
func runCommands(js string) error {
	if js == "" {
		return nil
	}
	var cmds [][]string
	if err := json.Unmarshal([]byte(js), &cmds); err != nil {
		return fmt.Errorf("isolate: %s: %w", envCommands, err)
	}
	for _, c := range cmds {
		if len(c) == 0 {
			continue
		}
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("isolate: %q: %v: %s", c, err, out)
		}
	}
	return nil
}

// Bench runs benchmark b again, alone, in a child under o, and reports the
// child's result as b's: every unit of its result line, ns/op, B/op and
// allocs/op included. The child gets this run's -test.benchtime, so b's body
// there (a b.Loop loop, run by a child when InChild) decides how many
// iterations that makes. Bench skips b where o cannot be made, and skips or
// fails it as the child's run of it skipped or failed; with -test.v it logs
// the child's output. Bench inside a child
// of Run or Bench is an error.
func Bench(b *testing.B, o Options) {
	b.Helper()
	if InChild() {
		b.Fatal("isolate.Bench in a child of isolate")
	}
	if why := unavailable(o); why != "" {
		b.Skip("isolate:", why)
	}
	if len(o.Commands) > 0 && !o.NewNetNS {
		b.Fatal("isolate: Commands without NewNetNS would change this namespace")
	}
	cmds, err := json.Marshal(o.Commands)
	if err != nil {
		b.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"-test.run", "^$", "-test.bench", benchPattern(b.Name()), "-test.count", "1", "-test.benchmem"}
	if f := flag.Lookup("test.benchtime"); f != nil {
		args = append(args, "-test.benchtime", f.Value.String())
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), envMode+"="+o.String(), envCommands+"="+string(cmds))
	cmd.SysProcAttr = procAttr(o)
	var out []byte
	for ran := false; b.Loop(); ran = true {
		if !ran {
			out, err = cmd.CombinedOutput()
		}
	}
	if testing.Verbose() {
		b.Logf("%s under %s:\n%s", b.Name(), o, out)
	}
	units, found := benchResult(out, b.Name())
	switch {
	case err != nil:
		b.Fatalf("%s under %s: %v\n%s", b.Name(), o, err, out)
	case strings.Contains(string(out), "--- SKIP"):
		b.Skipf("%s under %s skipped:\n%s", b.Name(), o, out)
	case !found:
		b.Fatalf("%s under %s: no result line:\n%s", b.Name(), o, out)
	}
	for unit, v := range units {
		b.ReportMetric(v, unit)
	}
}

// benchPattern returns the -test.bench pattern that matches the benchmark
// named name (levels separated by "/") and nothing else.
func benchPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// benchResult finds the result line of benchmark name in out, "name-P N v1
// unit1 v2 unit2 ...", and returns its units and their values.
func benchResult(out []byte, name string) (map[string]float64, bool) {
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 || (f[0] != name && !strings.HasPrefix(f[0], name+"-")) {
			continue
		}
		units := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, false
			}
			units[f[i+1]] = v
		}
		return units, true
	}
	return nil, false
}
