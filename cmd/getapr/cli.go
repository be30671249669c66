package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/getapr/getapr/probe"
)

// cli is one run of the command: where it writes and what it runs against.
type cli struct {
	stdout, stderr io.Writer
	// newBackend opens the library; the fake in tests.
	newBackend newBackendFunc
	// buildInfo is runtime/debug.ReadBuildInfo, replaced in tests.
	buildInfo func() (*debug.BuildInfo, bool)
	// tty is set when stderr is a terminal: show progress while waiting.
	tty bool
	// loc is the time zone of the timestamps watch prints.
	loc *time.Location
}

// command is one subcommand.
type command struct {
	name     string
	args     string // the positional arguments, for the usage line
	summary  string // one line for the command list
	detail   string // a paragraph for "getapr CMD -h"
	jsonOnly bool   // takes --json but none of the other common flags
	run      func(ctx context.Context, c *cli, cmd *command, args []string) error
}

// commands returns the subcommands in the order of the usage text.
func commands() []*command {
	return []*command{
		{name: "pairs", args: "HOST[:PORT] [PORT]", run: runPairs,
			summary: "the ranked (source, destination) pairs for HOST (PORT 443)",
			detail:  "Prints the (source, destination) pairs getapr would try for HOST, best first:\nrank, family, source (with zone), interface, destination, estimated latency and\nwhether it was measured, inherited from a nearby destination or a default,\nthe source's health and why the pair ranks there."},
		{name: "lookup", args: "HOST [-4|-6]", run: runLookup,
			summary: "HOST's addresses ordered by their best pair (getaddrinfo)",
			detail:  "Prints HOST's addresses, one a line, ordered by the best pair of each:\nthe getaddrinfo equivalent. -4 or -6 restricts the family."},
		{name: "status", run: runStatus,
			summary: "detected connectivity: flags, gateways, sources and their health",
			detail:  "Prints the prototype's flags (GUA_ok ... NAT44_tried), the default gateways\nand every source address with its interface, class and health.\nWith --wait the flags reflect the first probe round."},
		{name: "dial", args: "HOST:PORT", run: runDial,
			summary: "race a connect over the pairs and print the attempt timeline",
			detail:  "Connects to HOST:PORT with PairDialer and prints every attempt: when it\nstarted, its pair, how it ended and how long it took; then the winner and the\ntotal time. --stdlib dials with net.Dialer instead, for comparison.\nExit code 0 when connected, 1 when every attempt failed."},
		{name: "watch", args: "[HOST[:PORT] ...]", run: runWatch,
			summary: "live view of sources, flags and pairs; prints changes until Ctrl-C",
			detail:  "Prints the connectivity status and the pairs of each HOST (PORT 443), then one\ntimestamped line for every change, refreshed on every network change and every\n--interval, until interrupted (Ctrl-C). A measured pair ends with a sparkline of\nits latest latencies (▁ to █, oldest first, a new one each time it changed):\na path getting slower climbs."},
		{name: "version", run: runVersion, jsonOnly: true,
			summary: "print the module version",
			detail:  "Prints the module version, Go version and VCS revision of this binary."},
	}
}

// run runs the command line args (without the program name) and returns the exit
// code.
func (c *cli) run(ctx context.Context, args []string) int {
	c.stderr = &lockedWriter{w: c.stderr}
	if len(args) == 0 {
		c.usage(c.stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		return c.help(args[1:])
	}
	for _, cmd := range commands() {
		if cmd.name == name {
			out := &stickyWriter{w: c.stdout}
			c.stdout = out
			err := cmd.run(ctx, c, cmd, args[1:])
			if err == nil {
				err = out.err // a full disk, a closed pipe: the output is not all there
			}
			return c.report(cmd, err)
		}
	}
	if strings.HasPrefix(name, "-") {
		// "getapr --json status": flags go after the command.
		fmt.Fprintf(c.stderr, "getapr: flag %s before the command: write getapr COMMAND [ARGS] %s (run 'getapr -h' for the list)\n", name, name)
		return exitUsage
	}
	fmt.Fprintf(c.stderr, "getapr: unknown command %q (run 'getapr -h' for the list)\n", name)
	return exitUsage
}

// stickyWriter is a writer that keeps its first error, and writes nothing
// after it.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}

// help prints the general usage or one command's usage to stdout.
func (c *cli) help(args []string) int {
	if len(args) == 0 {
		c.usage(c.stdout)
		return exitOK
	}
	for _, cmd := range commands() {
		if cmd.name == args[0] {
			return c.report(cmd, cmd.run(context.Background(), c, cmd, []string{"-h"}))
		}
	}
	fmt.Fprintf(c.stderr, "getapr help: unknown command %q\n", args[0])
	return exitUsage
}

// report prints err as one line and returns the exit code.
func (c *cli) report(cmd *command, err error) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return exitOK
	}
	fmt.Fprintf(c.stderr, "getapr %s: %s\n", cmd.name, message(err))
	return exitCode(err)
}

// errHelpShown is returned after -h printed the usage: exit 0, nothing more.
var errHelpShown = errors.New("help shown")

const commonFlagsText = `Common flags (every command but version; also accepted after the arguments):
  --json                 print JSON with stable field names
  --probe-target H:P     probe HOST:PORT too (repeatable)
  --no-probe             no background probing
  --share[=PATH]         share what was learned with other processes (a PATH
                         only after '=': --share=PATH, not --share PATH)
  --timeout D            give up on each network operation after D (default 5s)
  --wait                 wait for the first probe round before answering
  --log-level L          log the library at zap level L to stderr (default off)
  --pref64 P[%IFACE]     the NAT64 prefix of links that learn none (repeatable)
`

func (c *cli) usage(w io.Writer) {
	fmt.Fprint(w, "getapr ranks (source, destination) address pairs on a multi-homed host and\nraces connects over them.\n\nUsage: getapr COMMAND [ARGS] [FLAGS]\n\nCommands:\n")
	for _, cmd := range commands() {
		fmt.Fprintf(w, "  %-26s %s\n", strings.TrimSpace(cmd.name+" "+cmd.args), cmd.summary)
	}
	fmt.Fprint(w, "\n"+commonFlagsText+"\nExit codes: 0 success, 1 network failure, 2 bad input.\nRun 'getapr COMMAND -h' for a command's flags.\n")
}

// parse parses a command's flags: the common ones plus those extra registers. It
// returns the positional arguments. After -h it returns errHelpShown.
func (c *cli) parse(cmd *command, args []string, extra func(*flag.FlagSet)) (*options, []string, error) {
	fs := flag.NewFlagSet("getapr "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	o := new(options)
	o.register(fs, cmd.jsonOnly)
	if extra != nil {
		extra(fs)
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		c.commandUsage(c.stdout, cmd, fs)
		return nil, nil, errHelpShown
	}
	if err == nil {
		err = checkShareValue(args)
	}
	if err == nil {
		err = o.share.check()
	}
	if err == nil && o.timeout <= 0 {
		err = errors.New("--timeout must be positive")
	}
	if err == nil && o.noProbe && (o.wait || len(o.probeTargets) > 0) {
		err = errors.New("--wait and --probe-target need probing: not with --no-probe")
	}
	if err != nil {
		return nil, nil, badArgs(cmd, "%v", err)
	}
	return o, pos, nil
}

func (c *cli) commandUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: getapr %s [FLAGS]\n\n%s\n\nFlags:\n", strings.TrimSpace(cmd.name+" "+cmd.args), cmd.detail)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// badArgs is a usage error that points at the command's help.
func badArgs(cmd *command, format string, args ...any) error {
	return usagef("%s (see 'getapr %s -h')", fmt.Sprintf(format, args...), cmd.name)
}

// open opens the backend and, with --wait, waits for the first probe round. The
// backend returned says on stderr why its Close failed (the last merge of the
// --share file, most often).
func (c *cli) open(ctx context.Context, o *options) (backend, error) {
	bo := o.backendOptions(o.logger(c.stderr))
	pref64, err := o.pref64.configured(os.Getenv)
	if err != nil {
		return nil, usagef("%v", err)
	}
	bo.PREF64 = pref64
	nb, err := c.newBackend(ctx, bo)
	if err != nil {
		return nil, err
	}
	b := closeReporter{nb, c.stderr}
	if !o.wait {
		return b, nil
	}
	// The round ends with its slowest probe, which may take the prober's own
	// timeout (a gateway that does not answer): wait that long at least.
	wait := max(o.timeout, probe.DefaultProbeTimeout+time.Second)
	ictx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	stop := c.progress("waiting for the first probe round")
	err = b.Init(ictx)
	stop()
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(c.stderr, "getapr: warning: the first probe round did not end within %v; answering with what is known\n", wait)
	case err != nil:
		b.Close()
		return nil, fmt.Errorf("waiting for the first probe round: %w", err)
	}
	return b, nil
}

// closeReporter is a backend whose Close writes its error to w.
type closeReporter struct {
	backend
	w io.Writer
}

func (b closeReporter) Close() error {
	err := b.backend.Close()
	if err != nil {
		fmt.Fprintf(b.w, "getapr: warning: %s\n", oneLine(err.Error()))
	}
	return err
}

// writeJSON writes v indented, with a final newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// lockedWriter serializes writes: the library logs to stderr from its own
// goroutines while the command and the progress indicator write there too.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
