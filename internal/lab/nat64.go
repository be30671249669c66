package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The lab's NAT64 (the NAT64 control): ISP B translates its NAT64 prefix with
// tayga, a user-space translator on a TUN device, and masquerades tayga's pool
// behind its outside address; the client loses its IPv4 address and routes on
// uplink 1, which becomes IPv6-only. tayga starts at the first use of the
// control and runs until the lab is torn down.

// ipv4only.arpa and its two A records (RFC 7050), which the lab DNS serves so
// that a DNS64 reveals its prefix.
const ipv4OnlyName = "ipv4only.arpa."

var ipv4OnlyAddrs = []netip.Addr{netip.AddrFrom4([4]byte{192, 0, 0, 170}), netip.AddrFrom4([4]byte{192, 0, 0, 171})}

// embed96 is the IPv6 address of v4 under the /96 NAT64 prefix p (RFC 6052:
// the last 32 bits). The lab writes it out itself, independently of the
// library's synthesis that the tests check.
func embed96(p netip.Prefix, v4 netip.Addr) netip.Addr {
	a := p.Masked().Addr().As16()
	b := v4.As4()
	copy(a[12:], b[:])
	return netip.AddrFrom16(a)
}

// taygaConfig is tayga's configuration for the lab whose state directory is dir.
func (p *plan) taygaConfig(dir string) string {
	n := &p.NAT64
	return strings.Join([]string{
		"tun-device " + ifNAT64,
		"ipv4-addr " + n.Addr4.String(),
		"prefix " + n.Prefix.String(),
		"dynamic-pool " + n.Pool.String(),
		"data-dir " + filepath.Join(dir, "tayga"),
	}, "\n") + "\n"
}

// taygaRoutes are ISP B's routes into the TUN device: the prefix (IPv6 to be
// translated) and the pool (IPv4 answers to translate back).
func (p *plan) taygaRoutes() []string {
	n := &p.NAT64
	return []string{
		"link set dev " + ifNAT64 + " up",
		fmt.Sprintf("route add %s dev %s", n.Pool, ifNAT64),
		fmt.Sprintf("route add %s dev %s", n.Prefix, ifNAT64),
	}
}

// translator is a running tayga.
type translator struct {
	cmd  *exec.Cmd
	out  strings.Builder // what it printed; read only after done
	done chan struct{}   // closed when it has exited
	once sync.Once
}

// startTayga creates tayga's TUN device and routes in ISP B's namespace and
// starts tayga there.
func (o *owner) startTayga(ctx context.Context) (*translator, error) {
	p := &o.plan
	if _, err := exec.LookPath("tayga"); err != nil {
		return nil, errors.New("lab: NAT64 needs tayga (Debian package tayga)")
	}
	conf := filepath.Join(o.dir, "tayga.conf")
	if err := os.MkdirAll(filepath.Join(o.dir, "tayga"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(conf, []byte(p.taygaConfig(o.dir)), 0o600); err != nil {
		return nil, err
	}
	ns := p.ns(p.Uplinks[p.NAT64.Uplink].ISP)
	if out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "tayga", "--mktun", "--config", conf).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("lab: tayga --mktun in %s: %v: %s", ns, err, out)
	}
	if err := runStages(ctx, stage{{ns: ns, lines: p.taygaRoutes()}}); err != nil {
		return nil, err
	}
	t := &translator{done: make(chan struct{})}
	t.cmd = exec.Command("ip", "netns", "exec", ns, "tayga", "--nodetach", "--config", conf)
	t.cmd.Stdout, t.cmd.Stderr = &t.out, &t.out
	t.cmd.SysProcAttr = childAttr()
	if err := t.cmd.Start(); err != nil {
		return nil, fmt.Errorf("lab: starting tayga: %w", err)
	}
	go func() {
		_ = t.cmd.Wait()
		close(t.done)
	}()
	return t, nil
}

// exited returns what tayga printed if it has exited, else "", false.
func (t *translator) exited() (string, bool) {
	select {
	case <-t.done:
		return t.out.String(), true
	default:
		return "", false
	}
}

// Close stops tayga (it is this process's child) and waits for it.
func (t *translator) Close() error {
	t.once.Do(func() {
		_ = t.cmd.Process.Kill()
		<-t.done
	})
	return nil
}

// nat64 turns the NAT64 control on or off; o.mu is held.
func (o *owner) nat64(ctx context.Context, on bool) error {
	p := &o.plan
	s := &o.state
	if on && o.tayga == nil {
		t, err := o.startTayga(ctx)
		if err != nil {
			return err
		}
		o.tayga = t
	}
	s.NAT64 = on
	st := p.ispStage(p.NAT64.Uplink, s)
	if s.V4 {
		verb := "replace"
		if on {
			verb = "del"
		}
		st = append(st, cmd{ns: p.ns(roleClient), force: !on, lines: p.uplinkIPv4Lines(verb, p.NAT64.Uplink)})
	}
	if err := runStages(ctx, st); err != nil {
		return err
	}
	if on {
		return o.waitNAT64(ctx)
	}
	return nil
}

// uplinkIPv4Lines adds ("replace") or removes ("del") the client's IPv4
// address and default routes on uplink i.
func (p *plan) uplinkIPv4Lines(verb string, i int) []string {
	var lines []string
	if verb == "del" {
		lines = append(lines, p.clientRouteLines(verb, i, 4)...)
	}
	for _, a := range p.clientAddrs(i, 4) {
		lines = append(lines, addrLine(verb, a, p.Uplinks[i].ClientIf))
	}
	if verb != "del" {
		lines = append(lines, p.clientRouteLines(verb, i, 4)...)
	}
	return lines
}

// waitNAT64 connects from the client's GUA on the NAT64 uplink to the
// server's open IPv4 address through the NAT64 until that works, so that no
// test sees tayga before it reads its TUN device (a SYN sent then is lost and
// retransmitted a second later; once tayga runs, the first connection of a new
// source goes through at once). Each try waits the uplink's RTT plus 100 ms.
func (o *owner) waitNAT64(ctx context.Context) error {
	p := &o.plan
	src := p.Uplinks[p.NAT64.Uplink].GUA.Addr()
	dst := netip.AddrPortFrom(embed96(p.NAT64.Prefix, p.Server.Open4), echoPort)
	try := o.state.RTT[p.NAT64.Uplink] + 100*time.Millisecond
	deadline := time.Now().Add(5 * time.Second)
	for {
		var c net.Conn
		err := inNetNS(p.ns(roleClient), func() error {
			d := net.Dialer{Timeout: try, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
			var err error
			c, err = d.DialContext(ctx, "tcp", dst.String())
			return err
		})
		if err == nil {
			return c.Close()
		}
		if out, gone := o.tayga.exited(); gone {
			return fmt.Errorf("lab: tayga exited: %s", out)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("lab: NAT64 not working: %v -> %v: %w", src, dst, err)
		}
	}
}

// advertise sends an RA with a PREF64 option from ISP i's router to the client
// (lifetime zero withdraws the prefix); o.mu is held.
func (o *owner) advertise(i int, pref netip.Prefix, lifetime time.Duration) error {
	if err := o.sendPREF64(i, pref, lifetime); err != nil {
		return err
	}
	o.state.PREF64[i] = netip.Prefix{}
	o.advertised[i].Store(nil)
	if lifetime > 0 {
		o.state.PREF64[i] = pref
		o.advertised[i].Store(&advert{prefix: pref, until: time.Now().Add(lifetime)})
	}
	return nil
}

// sendPREF64 sends one RA with a PREF64 option from ISP i's router to the
// client link.
func (o *owner) sendPREF64(i int, pref netip.Prefix, lifetime time.Duration) error {
	u := &o.plan.Uplinks[i]
	opt, err := pref64Option(pref, lifetime)
	if err != nil {
		return err
	}
	msg, err := routerAdvert(opt)
	if err != nil {
		return err
	}
	return sendRA(o.plan.ns(u.ISP), ifISPDown, u.RouterLL, msg)
}

// RequireNAT64 skips a test that uses the NAT64 control when tayga is not
// installed, or fails it when the environment variable CI is set (CI installs
// tayga: there a skip would hide the tests).
func RequireNAT64(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("tayga"); err == nil {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("lab: the NAT64 control needs tayga (Debian package tayga), and CI must install it")
	}
	t.Skip("lab: the NAT64 control needs tayga (Debian package tayga), which is not installed")
}
