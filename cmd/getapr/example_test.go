package main

import (
	"context"
	"fmt"
	"os"
)

// Bad input is one line on stderr and exit code 2, before anything touches the
// network.
func Example_badInput() {
	for _, args := range [][]string{
		{"pairs", "exa..mple"},
		{"dial", "example.com"},
		{"frob"},
	} {
		code := run(context.Background(), args, os.Stdout, os.Stdout)
		fmt.Println("exit", code)
	}
	// Output:
	// getapr pairs: bad host "exa..mple": empty label
	// exit 2
	// getapr dial: bad address "example.com": want HOST:PORT
	// exit 2
	// getapr: unknown command "frob" (run 'getapr -h' for the list)
	// exit 2
}

// Every command explains itself with -h.
func Example_help() {
	run(context.Background(), []string{"lookup", "-h"}, os.Stdout, os.Stdout)
	// Output:
	// Usage: getapr lookup HOST [-4|-6] [FLAGS]
	//
	// Prints HOST's addresses, one a line, ordered by the best pair of each:
	// the getaddrinfo equivalent. -4 or -6 restricts the family.
	//
	// Flags:
	//   -4	IPv4 addresses only
	//   -6	IPv6 addresses only
	//   -json
	//     	print JSON with stable field names
	//   -log-level level
	//     	log the library at this zap level (debug, info, warn, error) to stderr; off by default
	//   -no-probe
	//     	no background probing: rank from the kernel's state and defaults only
	//   -pref64 PREFIX[%IFACE]
	//     	the NAT64 PREFIX[%IFACE] of links that learn none from RAs or DNS (repeatable;
	//     	default: $GETAPR_PREF64)
	//   -probe-target HOST:PORT
	//     	probe HOST:PORT too (repeatable)
	//   -share
	//     	share what was learned with other processes, in the user's cache directory
	//     	(getapr/pairs.json) or in PATH with --share=PATH (the '=' is needed: --share
	//     	takes no separate value)
	//   -timeout duration
	//     	give up on each network operation after this long (default 5s)
	//   -wait
	//     	wait for the first probe round before answering
}
