package main

import "syscall"

// detachAttr starts the daemon in its own session, away from the terminal and
// its Ctrl-C.
func detachAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
