//go:build !linux

package lab

import (
	"context"
	"errors"
	"syscall"
	"time"
)

// The lab needs Linux network namespaces; elsewhere every step that touches
// the kernel fails with errors.ErrUnsupported and Main runs tests without a lab.

func inNetNS(string, func() error) error { return errors.ErrUnsupported }

func writeSysctls(string, [][2]string) error { return errors.ErrUnsupported }

func waitOperUp(context.Context, string, []string) error { return errors.ErrUnsupported }

func openPacketPort(string, int) (framePort, error) { return nil, errors.ErrUnsupported }

func childAttr() *syscall.SysProcAttr { return nil }

func raisePriority() {}

func normalPriority() {}

func preciseSleep(d time.Duration) { time.Sleep(d) }
