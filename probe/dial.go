package probe

import (
	"context"
	"net"
	"strconv"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/sockopt"
)

// dialTCP is the default Dial: a TCP connect from path.Src (its zone honoured) to
// path.Dst with sockopt.Dial, bound to Src's interface with SO_BINDTODEVICE unless
// the system refused that once (no privilege, or not Linux); then without.
func (p *Prober) dialTCP(ctx context.Context, path Path) (net.Conn, error) {
	network := "tcp4"
	if path.Dst.Addr().Unmap().Is6() {
		network = "tcp6"
	}
	c, first, err := sockopt.Dial(ctx, &sockopt.Path{
		Dialer:    net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(path.Src)},
		Network:   network,
		Dst:       path.Dst,
		Interface: p.ifname(path),
	}, &p.device)
	if first {
		p.log.Info("binding probes to their interface refused; probing without", zap.Error(p.device.Refusal()))
	}
	return c, err
}

// ifname returns the name of the interface that owns path's source: the
// snapshot's, else the source's zone when it is a name (a zone may be an
// index, as netstate gives it without netlink; SO_BINDTODEVICE takes a name).
func (p *Prober) ifname(path Path) string {
	src := path.Src.Addr()
	if a, ok := p.w.Snapshot().Addr(src); ok && a.Interface != "" {
		return a.Interface
	}
	if z := src.Zone(); z != "" {
		if _, err := strconv.Atoi(z); err != nil {
			return z
		}
	}
	return ""
}
