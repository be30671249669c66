package probe

import (
	"context"
	"errors"
	"net"
	"os"

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
	if ifname := p.ifname(path); ifname != "" && !p.noBind.Load() {
		d.Control = sockopt.BindToDevice(ifname, nil)
		c, err := d.DialContext(ctx, network, path.Dst.String())
		if !bindRefused(err) {
			return c, err
		}
		p.noBind.Store(true)
		p.log.Info("binding probes to their interface refused; probing without", zap.Error(err))
		d.Control = nil
	}
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

// bindRefused reports whether err is the system refusing SO_BINDTODEVICE itself.
func bindRefused(err error) bool {
	var se *os.SyscallError
	return errors.Is(err, errors.ErrUnsupported) ||
		(errors.As(err, &se) && se.Syscall == "setsockopt SO_BINDTODEVICE" && errors.Is(err, os.ErrPermission))
}
