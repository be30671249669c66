package probe

import (
	"context"
	"net"
	"syscall"

	"go.uber.org/zap"

	"github.com/getapr/getapr/internal/sockopt"
)

// dialTCP is the default Dial: a TCP connect from path.Src (its zone honoured) to
// path.Dst, bound to Src's interface with SO_BINDTODEVICE unless the system refused
// that once (no privilege, or not Linux); then without.
func (p *Prober) dialTCP(ctx context.Context, path Path) (net.Conn, error) {
	network := "tcp4"
	if path.Dst.Addr().Unmap().Is6() {
		network = "tcp6"
	}
	d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(path.Src)}
	bind := func(ifname string) func(string, string, syscall.RawConn) error {
		return func(_, _ string, c syscall.RawConn) error { return sockopt.Bind(c, ifname, path.Src.Port() == 0) }
	}
	if ifname := p.ifname(path); ifname != "" && !p.noBind.Load() {
		d.Control = bind(ifname)
		c, err := d.DialContext(ctx, network, path.Dst.String())
		if !sockopt.Refused(err) {
			return c, err
		}
		p.noBind.Store(true)
		p.log.Info("binding probes to their interface refused; probing without", zap.Error(err))
	}
	d.Control = bind("")
	return d.DialContext(ctx, network, path.Dst.String())
}

// ifname returns the name of the interface that owns path's source.
func (p *Prober) ifname(path Path) string {
	src := path.Src.Addr()
	if z := src.Zone(); z != "" {
		return z
	}
	if a, ok := p.w.Snapshot().Addr(src); ok {
		return a.Interface
	}
	return ""
}
