package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Machine describes the host a run measured on.
type Machine struct {
	// Kernel is what uname -r says; empty when it could not be run.
	Kernel string
	// CPU is the model name from /proc/cpuinfo; empty when unknown.
	CPU string
	// Cores is the number of logical CPUs usable by the process.
	Cores int
}

// thisMachine describes the host this process runs on.
func thisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU()}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		m.CPU = cpuModel(f)
		f.Close()
	}
	return m
}

// cpuModel returns the first "model name" of a /proc/cpuinfo, or "".
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
