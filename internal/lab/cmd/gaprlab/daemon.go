package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/getapr/getapr/internal/lab"
	"go.uber.org/zap"
)

// logPath is where the daemon of lab name logs.
func logPath(name string) string { return filepath.Join("/run/getapr-lab", name+".log") }

// rttFlags adds -rtt0 and -rtt1.
func rttFlags(rtt *[2]time.Duration) func(*flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.DurationVar(&rtt[0], "rtt0", 0, "round-trip delay of uplink 0 (0: 20ms, negative: none)")
		fs.DurationVar(&rtt[1], "rtt1", 0, "round-trip delay of uplink 1 (0: 60ms, negative: none)")
	}
}

// up starts the daemon and waits for its word that the lab is usable.
func up(args []string) error {
	var rtt [2]time.Duration
	name, _ := flags("up", args, rttFlags(&rtt))
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(logPath(name)), 0o700); err != nil {
		return err
	}
	logf, err := os.Create(logPath(name))
	if err != nil {
		return err
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	start := time.Now()
	d := exec.Command(exe, "daemon", "-name", name, "-rtt0", rtt[0].String(), "-rtt1", rtt[1].String())
	d.Stdout, d.Stderr = logf, logf
	d.ExtraFiles = []*os.File{w} // fd 3: the readiness pipe
	d.SysProcAttr = detachAttr()
	if err := d.Start(); err != nil {
		w.Close()
		return err
	}
	w.Close()
	_ = d.Process.Release() // the daemon outlives us
	word, _ := bufio.NewReader(r).ReadString('\n')
	if word != "ok\n" {
		return fmt.Errorf("the daemon failed: %s (log: %s)", strings.TrimSpace(word), logPath(name))
	}
	l, err := lab.Attach(name)
	if err != nil {
		return err
	}
	fmt.Printf("lab %s is up (%v); stop it with: gaprlab down -name %s\n", name, time.Since(start).Round(time.Millisecond), name)
	printFacts(os.Stdout, l)
	return nil
}

// daemon brings the lab up, says "ok" (or the error) on fd 3 and runs it until
// it is asked to shut down (gaprlab down) or gets SIGINT, SIGTERM or SIGHUP.
func daemon(args []string) error {
	var rtt [2]time.Duration
	name, _ := flags("daemon", args, rttFlags(&rtt))
	ready := os.NewFile(3, "ready")
	log, err := zap.NewDevelopment()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	l, err := lab.Up(context.Background(), lab.Options{Name: name, RTT: rtt, Logger: log})
	if err != nil {
		if ready != nil {
			fmt.Fprintf(ready, "%v\n", strings.ReplaceAll(err.Error(), "\n", " | "))
		}
		return err
	}
	if ready != nil {
		fmt.Fprintln(ready, "ok")
		ready.Close()
	}
	log.Info("lab up", zap.String("name", name), zap.Strings("namespaces", l.Namespaces()))
	select {
	case s := <-sig:
		log.Info("signal", zap.Stringer("signal", s))
	case <-l.ShutdownRequested():
		log.Info("shutdown requested")
	}
	err = l.Close()
	log.Info("lab down", zap.Error(err))
	return err
}
