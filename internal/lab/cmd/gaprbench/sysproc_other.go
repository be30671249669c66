//go:build !linux

package main

import "syscall"

// childAttr: there is no lab off Linux; lab.Up fails before any child runs.
func childAttr() *syscall.SysProcAttr { return nil }
