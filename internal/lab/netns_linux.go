package lab

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// inNetNS runs fn on a fresh OS thread switched into the named network
// namespace, then switches the thread back. Sockets fn creates stay in that
// namespace and may be used from any goroutine afterwards. If the thread cannot
// switch back it is never unlocked, so the runtime ends it with its goroutine.
func inNetNS(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- os.NewSyscallError("open own netns", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(netnsDir+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns %s: %w", ns, os.NewSyscallError("open", err))
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("netns %s: %w", ns, os.NewSyscallError("setns", err))
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netns %s: switching back: %w", ns, os.NewSyscallError("setns", err))
			return // the thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// writeSysctls writes /proc/sys settings inside a namespace.
func writeSysctls(ns string, kv [][2]string) error {
	return inNetNS(ns, func() error {
		for _, s := range kv {
			if err := os.WriteFile("/proc/sys/"+s[0], []byte(s[1]), 0); err != nil {
				return fmt.Errorf("netns %s: sysctl: %w", ns, err)
			}
		}
		return nil
	})
}

// waitOperUp waits until every named interface in the namespace is
// operationally up (carrier on both veth ends), polling every millisecond.
func waitOperUp(ctx context.Context, ns string, ifnames []string) error {
	fd, err := unix.Open(netnsDir+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns %s: %w", ns, os.NewSyscallError("open", err))
	}
	defer unix.Close(fd)
	conn, err := rtnetlink.Dial(&netlink.Config{NetNS: fd})
	if err != nil {
		return fmt.Errorf("netns %s: rtnetlink: %w", ns, err)
	}
	defer conn.Close()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		links, err := conn.Link.List()
		if err != nil {
			return fmt.Errorf("netns %s: list links: %w", ns, err)
		}
		missing := notUp(links, ifnames)
		if missing == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("netns %s: %s not up: %w", ns, missing, ctx.Err())
		case <-tick.C:
		}
	}
}

// notUp returns the first of ifnames that is not operationally up, or "".
func notUp(links []rtnetlink.LinkMessage, ifnames []string) string {
	up := map[string]bool{}
	for _, l := range links {
		if l.Attributes != nil {
			up[l.Attributes.Name] = l.Attributes.OperationalState == rtnetlink.OperStateUp
		}
	}
	for _, n := range ifnames {
		if !up[n] {
			return n
		}
	}
	return ""
}

// childAttr makes the re-executed test binary die with the process that owns
// the lab.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// raisePriority gives every thread of this process nice -20 and a timer slack
// of 1 ns (threads created later inherit both), so that the relays keep time on
// a loaded machine: a woken relay thread preempts ordinary work at once, and a
// precise sleep is not stretched by the default 50 µs slack. Failures are
// ignored: the lab works, with less accurate delays.
func raisePriority() {
	forThreads(func(tid int, dir string) {
		_ = unix.Setpriority(unix.PRIO_PROCESS, tid, -20)
		_ = os.WriteFile(dir+"/timerslack_ns", []byte("1"), 0)
	})
}

// normalPriority puts threads with a raised priority (inherited from the
// process that runs the lab) back to nice 0: the tests should not compete with
// the relays.
func normalPriority() {
	forThreads(func(tid int, _ string) {
		// getpriority(2) returns 20 - nice.
		if p, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil && p > 20 {
			_ = unix.Setpriority(unix.PRIO_PROCESS, tid, 0)
		}
	})
}

// forThreads calls fn for every thread of this process with its task directory.
func forThreads(fn func(tid int, dir string)) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			fn(tid, "/proc/self/task/"+t.Name())
		}
	}
}

// preciseSleep sleeps d in the kernel (an hrtimer), blocking the thread: exact to
// some microseconds, where the runtime's timers round to a millisecond.
func preciseSleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.Nanosleep(&ts, &ts) == unix.EINTR {
	}
}
