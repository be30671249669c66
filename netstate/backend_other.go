//go:build !linux

package netstate

import "errors"

// newBackend polls the standard library's interface list; RouteFor connects a
// datagram socket (see pollBackend).
func newBackend(cfg config) (backend, error) {
	if cfg.netns != 0 {
		return nil, errors.New("netstate: WithNetNS is only supported on Linux")
	}
	return pollBackend{list: stdlibSnapshot}, nil
}
