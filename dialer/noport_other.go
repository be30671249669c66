//go:build !linux

package dialer

import "syscall"

// bindAddressNoPort does nothing: IP_BIND_ADDRESS_NO_PORT is Linux's. The bind
// picks the port, as it always does there.
func bindAddressNoPort(syscall.RawConn) {}
