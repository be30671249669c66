package main

import "syscall"

// childAttr makes the run in the client namespace die with this process, which
// holds the lab's relays and servers.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
