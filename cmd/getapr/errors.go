package main

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// Exit codes.
const (
	exitOK      = 0 // success
	exitNetwork = 1 // the network failed: dial failed, timeout, no usable pair
	exitUsage   = 2 // bad input: unknown command, bad flag, bad host or port, unknown name
)

// usageError is bad input from the user: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitCode maps the error a command returned to the process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if isBadInput(err) {
		return exitUsage
	}
	return exitNetwork
}

// isBadInput reports whether err is the user's fault rather than the network's: a
// usage error, an unknown name, an address or network the net package rejects.
func isBadInput(err error) bool {
	var (
		ue  *usageError
		dns *net.DNSError
		ae  *net.AddrError
		pe  *net.ParseError
		une net.UnknownNetworkError
	)
	switch {
	case errors.As(err, &ue), errors.As(err, &ae), errors.As(err, &pe), errors.As(err, &une):
		return true
	case errors.As(err, &dns):
		return dns.IsNotFound
	}
	return false
}

// libPrefix starts the library's own error messages ("pairs: no usable pair
// for ..."), as Go packages prefix theirs.
const libPrefix = "pairs: "

// message is err's text for a line that already says where it comes from
// ("getapr pairs: ", a watch key): one line, without the library's prefix, so
// that no line says "pairs: pairs: ".
func message(err error) string {
	return oneLine(strings.TrimPrefix(err.Error(), libPrefix))
}

// oneLine flattens a multi-line error message (an attempt list) into one line.
func oneLine(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSpace(s), "\n") {
		l = strings.TrimSpace(l)
		if i > 0 && l != "" {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteString(" ")
			} else {
				b.WriteString("; ")
			}
		}
		b.WriteString(l)
	}
	return b.String()
}
