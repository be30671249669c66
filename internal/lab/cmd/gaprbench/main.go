package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is the command line.
type config struct {
	out, readme, gobench string
	gobenchSet           bool   // -gobench was given: a missing file is an error
	charts               string // directory of the charts; empty: "charts" beside out
	save, from           string // the run's data as JSON: written to save, or read from from instead of measuring
	soak                 bool   // run the soak schedule for the timeline chart
	dials                int
	recoveryRuns         int
	timeout, idle, learn time.Duration
	rtt                  [2]time.Duration
	only                 []string // scenario keys; empty: all
	child                string   // the lab's name in the re-executed child
}

// wants reports whether the scenario with key runs.
func (c *config) wants(key string) bool { return len(c.only) == 0 || slices.Contains(c.only, key) }

func parseFlags(args []string) (config, error) {
	var c config
	fs := flag.NewFlagSet("gaprbench", flag.ContinueOnError)
	fs.StringVar(&c.out, "out", "BENCHMARKS.md", "write the markdown report to this file")
	fs.StringVar(&c.readme, "readme", "", "replace the benchmark region of this README with the table (empty: leave it)")
	fs.StringVar(&c.charts, "charts", "", "write the SVG charts into this directory (default: charts beside -out)")
	fs.StringVar(&c.save, "json", "bench-lab.json", "save what the run measured to this file, for -from (empty: do not)")
	fs.StringVar(&c.from, "from", "", "measure nothing: write the report, the README region and the charts from a file -json saved")
	fs.BoolVar(&c.soak, "soak", true, "run the soak schedule with PairDialer and net.Dialer for the timeline chart (about 5 minutes)")
	fs.StringVar(&c.gobench, "gobench", "bench-go.txt", "output of go test -bench -benchmem to summarise (skipped when absent, unless given; with -from, read only when given)")
	fs.IntVar(&c.dials, "dials", 20, "dials per method and scenario")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "timeout of each dial; a failed dial counts as this")
	fs.DurationVar(&c.idle, "idle", time.Minute, "how long to watch an idle Selector's probe traffic, quiet and eager (0: skip)")
	fs.IntVar(&c.recoveryRuns, "recovery-runs", 3, "runs of each time-back-to-the-best-path scenario (0: skip; about 5 minutes a run)")
	fs.DurationVar(&c.learn, "learn", 45*time.Second, "how long a warm Selector may take to learn the failing sources")
	fs.DurationVar(&c.rtt[0], "rtt0", 0, "RTT of uplink 0 (0: the lab's default, 20ms)")
	fs.DurationVar(&c.rtt[1], "rtt1", 0, "RTT of uplink 1 (0: the lab's default, 60ms)")
	only := fs.String("scenarios", "", "comma-separated scenarios to run (default all): "+strings.Join(scenarioKeys(), ","))
	fs.StringVar(&c.child, "child", "", "internal: run the dials in the client namespace of this lab")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) { c.gobenchSet = c.gobenchSet || f.Name == "gobench" })
	if *only != "" {
		c.only = strings.Split(*only, ",")
		for _, k := range c.only {
			if !slices.Contains(scenarioKeys(), k) {
				return c, fmt.Errorf("unknown scenario %q; want some of %s", k, strings.Join(scenarioKeys(), ","))
			}
		}
	}
	if c.dials < 1 || c.timeout <= 0 {
		return c, fmt.Errorf("want -dials ≥ 1 and -timeout > 0")
	}
	return c, nil
}

func scenarioKeys() []string {
	var keys []string
	for _, s := range scenarios() {
		keys = append(keys, s.key)
	}
	return keys
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if err == flag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "gaprbench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	switch {
	case cfg.child != "":
		err = runChild(ctx, cfg, cfg.child, os.Stdout)
	case cfg.from != "":
		err = rerender(cfg)
	default:
		err = runParent(ctx, cfg, os.Args[1:])
	}
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "gaprbench: %v\n", err)
		os.Exit(1)
	}
}
