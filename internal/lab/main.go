package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Main is called from a package's TestMain (build tag "lab"):
//
//	func TestMain(m *testing.M) { os.Exit(lab.Main(m, lab.Options{})) }
//
// As root in the root namespace it brings up a fresh lab, runs the test binary
// again inside the client namespace (with EnvState set), waits for it and tears
// the lab down, also when the tests fail or panic and on SIGINT or SIGTERM; it
// returns the child's exit code. In the child (EnvState set) it runs m.Run.
// Without root or ip (iproute2), or off Linux, it prints why and runs m.Run with no
// lab: lab tests then skip (see Current).
func Main(m *testing.M, opts Options) int {
	if os.Getenv(EnvState) != "" {
		normalPriority()
		return m.Run()
	}
	if why := unavailable(); why != "" {
		fmt.Fprintf(os.Stderr, "lab: no lab (%s); lab tests skip\n", why)
		return m.Run()
	}
	return runParent(opts)
}

// unavailable says why this process cannot bring up a lab, or "".
func unavailable() string {
	if runtime.GOOS != "linux" {
		return "not Linux"
	}
	if os.Geteuid() != 0 {
		return "not root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "ip not found (install iproute2)"
	}
	return ""
}

// defaultName is the binary's name (without .test) and the process id.
func defaultName() string {
	base := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	return sanitizeName(base) + "-" + strconv.Itoa(os.Getpid())
}

func runParent(opts Options) (code int) {
	start := time.Now()
	l, err := Up(context.Background(), opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		return 1
	}
	defer func() {
		t := time.Now()
		if err := l.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "lab: teardown: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		if os.Getenv("GETAPR_LAB_TIMES") != "" {
			fmt.Fprintf(os.Stderr, "lab: teardown of %s took %v\n", l.Name(), time.Since(t).Round(time.Millisecond))
		}
	}()
	if os.Getenv("GETAPR_LAB_TIMES") != "" {
		fmt.Fprintf(os.Stderr, "lab: bring-up of %s took %v\n", l.Name(), time.Since(start).Round(time.Millisecond))
	}
	code, err = l.runChild()
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab: %v\n", err)
		return 1
	}
	return code
}

// runChild runs this test binary again, with the same arguments, inside the
// client namespace, forwarding SIGINT and SIGTERM to it.
func (l *Lab) runChild() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	c := exec.Command("ip", append([]string{"netns", "exec", l.Client(), exe}, os.Args[1:]...)...)
	c.Env = append(os.Environ(), EnvState+"="+l.StateFile())
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	c.SysProcAttr = childAttr()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	if err := c.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	shutdown := l.ShutdownRequested()
	var kill <-chan time.Time // armed by the first signal: the child gets 10 s to exit
	stop := func(s os.Signal) {
		_ = c.Process.Signal(s)
		if kill == nil {
			kill = time.After(10 * time.Second)
		}
	}
	for {
		select {
		case err := <-done:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if code := ee.ExitCode(); code >= 0 {
					return code, nil
				}
				return 1, nil // killed by a signal
			}
			return 0, err
		case s := <-sig:
			stop(s)
		case <-shutdown:
			shutdown = nil
			stop(syscall.SIGTERM)
		case <-kill:
			_ = c.Process.Kill()
		}
	}
}
