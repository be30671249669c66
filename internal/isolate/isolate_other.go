//go:build !linux

package isolate

import (
	"errors"
	"syscall"
)

func unavailable(Options) string            { return "Linux only" }
func procAttr(Options) *syscall.SysProcAttr { return nil }
func loopbackUp() error                     { return errors.ErrUnsupported }
func refuseNetlink() error                  { return errors.ErrUnsupported }
