package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// runParent brings up a lab, runs this program again in its client namespace
// to measure, tears the lab down and writes the report.
func runParent(ctx context.Context, cfg config, args []string) (err error) {
	rep := &Report{
		Machine: thisMachine(), Date: time.Now(), Command: command(args), GoVersion: runtime.Version(),
		Timeout: cfg.timeout, Dials: cfg.dials,
	}
	if err := readGoBench(cfg, rep); err != nil {
		return err
	}
	start := time.Now()
	l, err := lab.Up(ctx, lab.Options{Name: fmt.Sprintf("bench-%d", os.Getpid()), RTT: cfg.rtt})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("lab teardown: %w", cerr)
		}
	}()
	fmt.Fprintf(os.Stderr, "gaprbench: lab %s up in %v\n", l.Name(), time.Since(start).Round(time.Millisecond))
	rep.RTT = [2]time.Duration{l.Uplink(0).RTT, l.Uplink(1).RTT}
	res, err := runInClient(ctx, l, args)
	if err != nil {
		return err
	}
	rep.Curl, rep.ColdNew, rep.Scenarios, rep.Idle = res.Curl, res.ColdNew, res.Scenarios, res.Idle
	rep.IdleEager, rep.Recovery, rep.Soak = res.IdleEager, res.Recovery, res.Soak
	rep.LabTook = time.Since(start)
	fmt.Fprintf(os.Stderr, "gaprbench: measured in %v\n", rep.LabTook.Round(time.Second))
	if err := saveReport(cfg, rep); err != nil {
		return err
	}
	return writeReport(cfg, rep)
}

// saveReport writes rep as JSON to cfg.save, for -from.
func saveReport(cfg config, rep *Report) error {
	if cfg.save == "" {
		return nil
	}
	data, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg.save, append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gaprbench: saved the measurements to %s\n", cfg.save)
	return nil
}

// rerender writes the report, the README region and the charts from the
// measurements saved in cfg.from.
func rerender(cfg config) error {
	data, err := os.ReadFile(cfg.from)
	if err != nil {
		return err
	}
	rep := &Report{}
	if err := json.Unmarshal(data, rep); err != nil {
		return fmt.Errorf("%s: %w", cfg.from, err)
	}
	if cfg.gobenchSet {
		// Go benchmarks run after the lab's: the report says when each ran.
		if err := readGoBench(cfg, rep); err != nil {
			return err
		}
	}
	return writeReport(cfg, rep)
}

// runInClient runs this program with args and -child in the lab's client
// namespace, at normal priority (lab.Up raised this process's), and decodes
// what it found. On ctx's end the child gets SIGTERM, and 15 s later SIGKILL.
func runInClient(ctx context.Context, l *lab.Lab, args []string) (childResult, error) {
	var res childResult
	exe, err := os.Executable()
	if err != nil {
		return res, err
	}
	c := l.ExecClient(ctx, "nice", append([]string{"-n", "20", exe, "-child", l.Name()}, args...)...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, os.Stderr
	c.SysProcAttr = childAttr()
	c.Cancel = func() error { return c.Process.Signal(syscall.SIGTERM) }
	c.WaitDelay = 15 * time.Second
	if err := c.Run(); err != nil {
		return res, fmt.Errorf("the run in the client namespace: %w", err)
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return res, fmt.Errorf("the run in the client namespace said %q: %w", out.String(), err)
	}
	return res, nil
}

// readGoBench reads cfg.gobench into rep, if the file exists or was asked for.
func readGoBench(cfg config, rep *Report) error {
	if cfg.gobench == "" {
		return nil
	}
	f, err := os.Open(cfg.gobench)
	if errors.Is(err, fs.ErrNotExist) && !cfg.gobenchSet {
		fmt.Fprintf(os.Stderr, "gaprbench: no %s: the report has no Go benchmarks (make bench-go writes it)\n", cfg.gobench)
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	if rep.GoBench, err = parseGoBench(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("%s: %w", cfg.gobench, err)
	}
	rep.GoBenchTook = goBenchTook(bytes.NewReader(data))
	rep.GoBenchFile, rep.GoBenchTime = cfg.gobench, st.ModTime()
	return nil
}

// writeReport writes the charts, the markdown report and the README's region.
func writeReport(cfg config, rep *Report) error {
	dir := cfg.charts
	if dir == "" {
		dir = filepath.Join(filepath.Dir(cfg.out), "charts")
	}
	files, err := rep.writeCharts(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gaprbench: wrote %s\n", strings.Join(files, ", "))
	if rep.ChartDir, err = relSlash(cfg.out, dir); err != nil {
		return err
	}
	if err := os.WriteFile(cfg.out, []byte(rep.Markdown()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gaprbench: wrote %s\n", cfg.out)
	if cfg.readme == "" {
		return nil
	}
	doc, err := os.ReadFile(cfg.readme)
	if err != nil {
		return err
	}
	if rep.ChartDir, err = relSlash(cfg.readme, dir); err != nil {
		return err
	}
	updated, err := replaceRegion(string(doc), rep.Region())
	if err != nil {
		return fmt.Errorf("%s: %w", cfg.readme, err)
	}
	if err := os.WriteFile(cfg.readme, []byte(updated), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gaprbench: updated the benchmark region of %s\n", cfg.readme)
	return nil
}

// relSlash returns the directory dir relative to the directory of file, in
// slash form, for a markdown link from file.
func relSlash(file, dir string) (string, error) {
	from, err := filepath.Abs(filepath.Dir(file))
	if err != nil {
		return "", err
	}
	to, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(from, to)
	return filepath.ToSlash(rel), err
}

// command renders the command line as the user would type it.
func command(args []string) string {
	q := []string{"gaprbench"}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'\"$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q = append(q, a)
	}
	return strings.Join(q, " ")
}
