//go:build !linux

package main

import "syscall"

// detachAttr: there is no lab off Linux; lab.Up fails in the daemon.
func detachAttr() *syscall.SysProcAttr { return nil }
