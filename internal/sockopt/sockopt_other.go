//go:build !linux

package sockopt

import (
	"errors"
	"time"
)

func bindToDevice(uintptr, string) error { return errors.ErrUnsupported }

func bindAddressNoPort(uintptr) {}

func kernelRTT(uintptr) (time.Duration, bool) { return 0, false }
