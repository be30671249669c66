package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// owner is the process side of a lab that this process brought up: it runs the
// relays, servers and DNS, applies the controls and tears everything down.
type owner struct {
	plan plan
	log  *zap.Logger
	dir  string // state directory

	mu     sync.Mutex // serialises controls
	state  controlState
	def    controlState
	relays [2]*relay
	pki    *testPKI
	others []io.Closer // servers, DNS, control socket
	zone   *zone       // the DNS data, for the DNS64 control
	tayga  *translator // the NAT64, once the NAT64 control was first turned on

	homeMAC [2]string // the routers' link-layer addresses at home, saved by Move
	// advertised is what each ISP router advertises now (AdvertisePREF64), for
	// its answers to Router Solicitations; nil: nothing.
	advertised [2]atomic.Pointer[advert]

	shutdown     chan struct{} // closed when asked to shut down over the control socket
	shutdownOnce sync.Once
	closeOnce    sync.Once
	closeErr     error
}

// bringUp builds the lab described by o.plan, and starts its processes.
func (o *owner) bringUp(ctx context.Context) error {
	p := &o.plan
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return err
	}
	raisePriority()
	if err := writeOwner(o.dir); err != nil {
		return err
	}
	if err := runStages(ctx, stage{netnsCmd("add", false, p.namespaces())}); err != nil {
		return err
	}
	if err := forEach(roles(), func(r string) error { return writeSysctls(p.ns(r), sysctls(r)) }); err != nil {
		return err
	}
	if err := runStages(ctx, stage{p.linkCmd()}, p.configStage(&o.state)); err != nil {
		return err
	}
	if err := o.start(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := forEach(roles(), func(r string) error { return waitOperUp(wctx, p.ns(r), p.ifnames(r)) }); err != nil {
		return err
	}
	if err := writeNetnsEtc(p.ns(roleClient)); err != nil {
		return err
	}
	return writeFacts(o.dir, o.facts())
}

// ifnames returns the veth ends in a role's namespace.
func (p *plan) ifnames(role string) []string {
	var out []string
	for _, l := range p.links() {
		if l.NSA == role {
			out = append(out, l.IfA)
		}
		if l.NSB == role {
			out = append(out, l.IfB)
		}
	}
	return out
}

// start opens the relays' packet sockets, the servers' listeners and the DNS
// sockets in their namespaces and starts serving.
func (o *owner) start() error {
	p := &o.plan
	for i := range p.Uplinks {
		r, err := o.startRelay(i)
		if err != nil {
			return err
		}
		o.relays[i] = r
	}
	for _, a := range []netip.Addr{p.Server.Open6, p.Server.Open4} {
		ln, err := listenIn(p.ns(roleServer), "tcp", netip.AddrPortFrom(a, echoPort).String())
		if err != nil {
			return err
		}
		o.others = append(o.others, serveConns(ln, echoPeer))
	}
	var err error
	if o.pki, err = newTestPKI(p.Name, []netip.Addr{p.Server.Open6, p.Server.Open4}, echPublicName); err != nil {
		return fmt.Errorf("lab: test CA: %w", err)
	}
	if err := o.startTLS(o.pki); err != nil {
		return err
	}
	if err := o.startMiddleboxes(); err != nil {
		return err
	}
	var pc net.PacketConn
	var ln net.Listener
	err = inNetNS(p.ns(roleClient), func() error {
		var err error
		if pc, err = net.ListenPacket("udp4", dnsAddr); err != nil {
			return err
		}
		if ln, err = net.Listen("tcp4", dnsAddr); err != nil {
			pc.Close()
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("lab: DNS: %w", err)
	}
	o.zone = p.zone(o.pki.echList)
	o.others = append(o.others, serveDNS(o.zone, pc, ln))
	for i := range p.Uplinks {
		a, err := o.answerSolicitations(i)
		if err != nil {
			return err
		}
		o.others = append(o.others, a)
	}
	ctl, err := listenCtl(o.dir, o.handle)
	if err != nil {
		return err
	}
	o.others = append(o.others, ctl)
	return nil
}

func (o *owner) startRelay(i int) (*relay, error) {
	p := &o.plan
	u := &p.Uplinks[i]
	ns := p.ns(u.Relay)
	a, err := openPacketPort(ns, p.ifindex(u.Relay, ifRelayClient))
	if err != nil {
		return nil, err
	}
	b, err := openPacketPort(ns, p.ifindex(u.Relay, ifRelayISP))
	if err != nil {
		a.Close()
		return nil, err
	}
	return newRelay(a, b, vnetHdrLen, o.state.RTT[i]/2, preciseSleep, o.log.With(zap.Int("uplink", i))), nil
}

// listenIn listens in namespace ns.
func listenIn(ns, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := inNetNS(ns, func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// facts returns the lab's facts with the current RTTs.
func (o *owner) facts() facts {
	o.mu.Lock()
	rtt := o.state.RTT
	o.mu.Unlock()
	f := newFacts(&o.plan, o.dir, rtt)
	if o.pki != nil {
		f.Server.CA, f.Server.ECHConfigList = o.pki.caPEM, o.pki.echList
	}
	return f
}

// handle applies one control request. It is the control socket's handler and
// what a Lab in this process calls directly.
func (o *owner) handle(ctx context.Context, req request) response {
	if req.Op == opShutdown {
		o.shutdownOnce.Do(func() { close(o.shutdown) })
		return response{}
	}
	if req.Op == opInfo {
		f := o.facts()
		return response{Facts: &f}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if err := o.apply(ctx, req); err != nil {
		return response{Error: err.Error()}
	}
	return response{}
}

// apply runs one control; o.mu is held.
func (o *owner) apply(ctx context.Context, req request) error {
	p := &o.plan
	s := &o.state
	switch req.Op {
	case opPolicy, opFamilies, opNAT44, opNPTv6, opNAT64, opDNS64, opRestore:
	default:
		if err := checkUplink(req.Uplink); err != nil {
			return err
		}
	}
	i := req.Uplink
	switch req.Op {
	case opRTT:
		s.RTT[i] = max(req.RTT, 0)
		o.relays[i].setOneWay(s.RTT[i] / 2)
		return nil
	case opBlackhole:
		s.Blackhole[i] = req.On
		return runStages(ctx, p.ispStage(i, s))
	case opIngress:
		s.Ingress[i] = req.On
		return runStages(ctx, p.ispStage(i, s))
	case opMiddlebox:
		if _, ok := middleboxPorts[req.Mode]; !ok && req.Mode != MiddleboxOff {
			return fmt.Errorf("lab: middlebox mode %d: unknown", req.Mode)
		}
		s.Middlebox[i] = req.Mode
		return runStages(ctx, p.ispStage(i, s))
	case opNAT44, opNPTv6:
		if req.Op == opNAT44 {
			s.NAT44 = req.On
		} else {
			s.NPTv6 = req.On
		}
		return runStages(ctx, p.ispStage(0, s), p.ispStage(1, s))
	case opCut:
		return o.cut(ctx, i, req.On)
	case opCutKeep:
		return o.cutKeep(ctx, i, req.On)
	case opMove:
		return o.move(ctx, i, req.On)
	case opPolicy:
		s.Policy = req.On
		return runStages(ctx, p.policyStages(req.On)...)
	case opFamilies:
		return o.families(ctx, req.V4, req.V6)
	case opAddAddr, opDelAddr:
		return o.clientAddr(ctx, i, req.Op == opAddAddr, req.Prefix)
	case opNAT64:
		return o.nat64(ctx, req.On)
	case opDNS64:
		s.DNS64 = req.On
		o.zone.setDNS64(o.dns64Prefix())
		return nil
	case opPREF64:
		return o.advertise(i, req.Prefix, req.Lifetime)
	case opRestore:
		return o.restore(ctx)
	}
	return fmt.Errorf("lab: unknown control %q", req.Op)
}

func (o *owner) cut(ctx context.Context, i int, on bool) error {
	p := &o.plan
	o.state.Cut[i] = on
	if err := runStages(ctx, p.cutStage(i, on)); err != nil || on {
		return err
	}
	u := &p.Uplinks[i]
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := waitOperUp(wctx, p.ns(roleClient), []string{u.ClientIf}); err != nil {
		return err
	}
	return runStages(ctx, p.healStage(i))
}

func (o *owner) families(ctx context.Context, v4, v6 bool) error {
	s := &o.state
	err := runStages(ctx, o.plan.familyStages(s, v4, v6)...)
	s.V4, s.V6 = v4, v6
	for i := range s.Extra {
		if !v4 {
			s.Extra[i] = withoutFamily(s.Extra[i], 4)
		}
		if !v6 {
			s.Extra[i] = withoutFamily(s.Extra[i], 6)
		}
	}
	return err
}

func (o *owner) clientAddr(ctx context.Context, i int, add bool, a netip.Prefix) error {
	if !a.IsValid() {
		return errors.New("lab: invalid client address")
	}
	s := &o.state
	if !add {
		if err := runStages(ctx, o.plan.addrStage(i, "del", a)); err != nil {
			return err
		}
		s.Extra[i] = slices.DeleteFunc(s.Extra[i], func(p netip.Prefix) bool { return p == a })
		return nil
	}
	if err := runStages(ctx, o.plan.addrStage(i, "add", a)); err != nil {
		return err
	}
	s.Extra[i] = append(s.Extra[i], a)
	return nil
}

// restore puts every control back to the state of bring-up.
func (o *owner) restore(ctx context.Context) error {
	p := &o.plan
	s := &o.state
	var errs []error
	for i := range p.Uplinks {
		if s.Moved[i] {
			errs = append(errs, o.move(ctx, i, false))
		}
		for _, a := range s.Extra[i] {
			errs = append(errs, runStages(ctx, p.addrStage(i, "del", a)))
		}
		s.Extra[i] = nil
		if s.Cut[i] {
			errs = append(errs, o.cut(ctx, i, false))
		}
		o.relays[i].setOneWay(o.def.RTT[i] / 2)
	}
	for i, pref := range s.PREF64 {
		if pref.IsValid() {
			errs = append(errs, o.advertise(i, pref, 0))
		}
	}
	if s.NAT64 {
		errs = append(errs, o.nat64(ctx, false))
	}
	errs = append(errs, o.families(ctx, true, true))
	*s = o.def
	o.zone.setDNS64(o.dns64Prefix())
	errs = append(errs, runStages(ctx, append(p.policyStages(true), append(p.ispStage(0, s), p.ispStage(1, s)...))...))
	return errors.Join(errs...)
}

// close stops everything this process runs for the lab and removes the lab.
func (o *owner) close() error {
	o.closeOnce.Do(func() {
		var errs []error
		for _, c := range slices.Backward(o.others) {
			errs = append(errs, c.Close())
		}
		if o.tayga != nil {
			errs = append(errs, o.tayga.Close())
		}
		for _, r := range o.relays {
			if r != nil {
				errs = append(errs, r.Close())
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		errs = append(errs, removeLab(ctx, &o.plan))
		o.closeErr = errors.Join(errs...)
	})
	return o.closeErr
}

// dns64Prefix is the prefix the lab DNS synthesizes under: the NAT64 prefix
// while the DNS64 control is on, else none.
func (o *owner) dns64Prefix() netip.Prefix {
	if o.state.DNS64 {
		return o.plan.NAT64.Prefix
	}
	return netip.Prefix{}
}
