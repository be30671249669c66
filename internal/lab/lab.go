package lab

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// Options configures a lab. The zero value is the default lab.
type Options struct {
	// Name is the unique part of every namespace name: the namespaces are
	// "gapr-<Name>-<role>". Empty means a name derived from the binary's name
	// and the process id. Up tears down an existing lab of the same name first.
	Name string
	// RTT is the initial round-trip delay of uplink 0 and uplink 1. Zero means
	// the defaults, 20 ms and 60 ms; negative means no delay.
	RTT [2]time.Duration
	// Logger receives the lab's debug output; nil means zap.NewNop().
	Logger *zap.Logger
}

// Lab is a running lab, brought up by this process (Up, Main) or by another one
// (Current, Attach). Its methods are safe for concurrent use, but the controls
// change the whole lab: tests that use them must not run in parallel.
type Lab struct {
	f     facts
	own   *owner      // nil when another process runs the lab
	dirty atomic.Bool // a control was used through this Lab
}

// Uplink describes one of the client's two uplinks.
type Uplink struct {
	// Interface is the client-side interface name ("eth0", "eth1").
	Interface string
	// GUA is the client's global IPv6 address from this ISP.
	GUA netip.Addr
	// ULA is a client ULA that ISP A translates with NPTv6; invalid on uplink 1.
	ULA netip.Addr
	// ULAOutside is what the server sees for ULA; invalid on uplink 1.
	ULAOutside netip.Addr
	// IPv4 is RFC 1918 behind NAT44 on uplink 0 and a public address on uplink 1.
	IPv4 netip.Addr
	// IPv4Outside is what the server sees for IPv4.
	IPv4Outside netip.Addr
	// Router6 is the ISP router's fixed link-local address, zone = Interface.
	Router6 netip.Addr
	// Router4 is the ISP router's IPv4 address on the link.
	Router4 netip.Addr
	// RTT is the uplink's round-trip delay as currently set; zero is none.
	RTT time.Duration
}

// Server describes the lab's servers and names.
type Server struct {
	// Name resolves (A and AAAA) to Open4 and Open6.
	Name string
	// SlowAAAAName answers A at once and AAAA after SlowAAAADelay.
	SlowAAAAName  string
	SlowAAAADelay time.Duration
	// NoAAAAName has only an A record (AAAA: NOERROR, no answer).
	NoAAAAName string
	// MultiName has the AAAA records Drop6, Open6 and the A records Drop4, Open4,
	// in that order.
	MultiName string
	// RefuseName resolves to Refuse6 and Refuse4, DropName to Drop6 and Drop4.
	RefuseName, DropName string
	// NAT64MixedName has the A record Open4 and, whether DNS64 is on or not, the
	// AAAA records Open4 synthesized under the NAT64 prefix, then Open6: one
	// server behind a translated and a real IPv6 address.
	NAT64MixedName string
	// Open6 and Open4 accept TCP connections on Port; Refuse6 and Refuse4 answer
	// RST; Drop6 and Drop4 drop every packet silently.
	Open6, Refuse6, Drop6 netip.Addr
	Open4, Refuse4, Drop4 netip.Addr
	// Port is the TCP port of the peer-echo server on Open6 and Open4: on accept
	// it writes the remote address it sees ("ip:port\n", see ReadPeer) and keeps
	// the connection open until the client closes it.
	Port uint16
	// DNS is the lab's DNS server (in the client namespace, on loopback, so no
	// uplink control can break it).
	DNS netip.AddrPort

	// TLSPort and AltTLSPort are the ports of the HTTPS server on Open6 and
	// Open4 (HTTP/2 and HTTP/1.1, ECH; it answers every request with an
	// HTTPSEcho). Its certificate, for *.getapr.test, getapr.test, Open6 and
	// Open4, is signed by CA, a test CA made at bring-up (see Lab.RootCAs).
	TLSPort, AltTLSPort uint16
	// CA is the test CA's certificate, PEM.
	CA []byte
	// ECHConfigList is the ECHConfigList of the HTTPS server's ECH key, as
	// ECHName's HTTPS record publishes it; its public name is ECHPublicName.
	ECHConfigList []byte
	ECHPublicName string

	// Names with HTTPS records (RFC 9460), all resolving to Open6 and Open4
	// unless said otherwise:
	//
	//  - HTTPSName: HTTPS 1 . alpn=h2,http/1.1 port=AltTLSPort ipv6hint=Open6
	//    ipv4hint=Open4.
	//  - HintsName: HTTPS 1 . alpn=h2,http/1.1 with those hints (port
	//    TLSPort), its A and AAAA answers held back SlowAAAADelay.
	//  - AliasName: HTTPS 0 HTTPSName (AliasMode); its own addresses are
	//    Drop6 and Drop4.
	//  - ApexAliasName: HTTPS 0 to Name, which has addresses but no HTTPS
	//    records (a zone apex aliased to a CDN's name); no addresses of its
	//    own.
	//  - PriorityName: HTTPS 1 p1 and HTTPS 2 p2 (alpn=h2,http/1.1), where p1
	//    resolves to Drop6 and Drop4 and p2 to Open6 and Open4.
	//  - H3OnlyName: HTTPS 1 h3only alpn=h3 no-default-alpn (h3only resolves
	//    to Drop6 and Drop4), and HTTPS 2 . alpn=h2,http/1.1.
	//  - H2OnlyName: HTTPS 1 h2only alpn=h2 no-default-alpn (h2only resolves
	//    to Drop6 and Drop4), and HTTPS 2 . alpn=h2,http/1.1.
	//  - ECHName: HTTPS 1 . alpn=h2,http/1.1 ech=ECHConfigList.
	//  - LateAAAADrop4Name: no HTTPS record; A is Drop4 at once, AAAA is
	//    Open6 after SlowAAAADelay: IPv4 is a black hole, IPv6 comes late.
	HTTPSName, HintsName, AliasName, PriorityName, H3OnlyName, H2OnlyName, ECHName string
	ApexAliasName, LateAAAADrop4Name                                               string
}

// NAT64 describes the lab's NAT64 (see Lab.NAT64).
type NAT64 struct {
	// Uplink is the uplink whose ISP translates (1).
	Uplink int
	// Prefix is the NAT64 prefix, 2001:db8:6464::/96: the server's Open4 is
	// reachable at Prefix with Open4 in the last 32 bits.
	Prefix netip.Prefix
}

// Up brings up a lab from ordinary code: the namespaces, links, addresses,
// routes and firewall rules, and, in this process, the relays, the servers, the
// DNS and the control socket. A lab of the same name is torn down first. Up
// needs root and ip (iproute2) on Linux; it programs the firewall rules over
// netlink, with no nft binary. It raises this process's scheduling priority
// (nice -20) so that the relays keep time on a loaded machine.
func Up(ctx context.Context, opts Options) (*Lab, error) {
	if why := unavailable(); why != "" {
		return nil, fmt.Errorf("lab: %s", why)
	}
	if opts.Name == "" {
		opts.Name = defaultName()
	}
	if err := checkName(opts.Name); err != nil {
		return nil, err
	}
	if err := Down(ctx, opts.Name); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	o := &owner{
		plan:     newPlan(opts.Name),
		log:      log.Named("lab").With(zap.String("lab", opts.Name)),
		dir:      stateDir(opts.Name),
		shutdown: make(chan struct{}),
	}
	o.def = defaultState(defaultRTTs(opts.RTT))
	o.state = o.def
	if err := o.bringUp(ctx); err != nil {
		return nil, fmt.Errorf("lab: bring-up of %s: %w", opts.Name, joinClose(err, o.close()))
	}
	return &Lab{f: o.facts(), own: o}, nil
}

func joinClose(err, cerr error) error {
	if cerr != nil {
		return fmt.Errorf("%w (and tearing down: %v)", err, cerr)
	}
	return err
}

// Attach returns the lab called name that another process runs (gaprlab up, or
// a Main). Its Close does nothing.
func Attach(name string) (*Lab, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return attachFile(filepath.Join(stateDir(name), "state.json"))
}

func attachFile(path string) (*Lab, error) {
	f, err := readFacts(path)
	if err != nil {
		return nil, err
	}
	return &Lab{f: f}, nil
}

// Current returns the lab this test runs in, or calls t.Skip when there is none
// (not root, no ip, not Linux, or TestMain does not call Main). When the
// test ends, every control it changed through the returned Lab is restored.
func Current(t testing.TB) *Lab {
	t.Helper()
	path := os.Getenv(EnvState)
	if path == "" {
		t.Skip("no lab: run as root on Linux with ip (iproute2), with lab.Main in TestMain")
	}
	l, err := attachFile(path)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() {
		if l.dirty.Load() {
			if err := l.Restore(); err != nil {
				t.Errorf("lab: restore: %v", err)
			}
		}
	})
	return l
}

// Close tears the lab down if this process brought it up: it stops the relays,
// servers and DNS and deletes the namespaces and files. It is idempotent, and
// does nothing on a lab run by another process.
func (l *Lab) Close() error {
	if l.own == nil {
		return nil
	}
	return l.own.close()
}

// ShutdownRequested is closed when another process asked this lab to shut down
// (Down, gaprlab down). It is nil on a lab run by another process.
func (l *Lab) ShutdownRequested() <-chan struct{} {
	if l.own == nil {
		return nil
	}
	return l.own.shutdown
}

// Name returns the lab's name.
func (l *Lab) Name() string { return l.f.Name }

// Namespaces returns the names of the lab's namespaces.
func (l *Lab) Namespaces() []string { return append([]string(nil), l.f.Namespaces...) }

// StateFile returns the path of the lab's state file, the value of EnvState
// for a process that should use this lab.
func (l *Lab) StateFile() string { return l.f.State }

// Client returns the client namespace's name.
func (l *Lab) Client() string { return l.f.Client }

// Uplink returns uplink i: 0 (ISP A, the kernel's preferred default route) or 1
// (ISP B). Other values of i panic.
func (l *Lab) Uplink(i int) Uplink {
	u := l.f.Uplinks[i]
	if f, err := l.info(); err == nil {
		u.RTT = f.Uplinks[i].RTT
	}
	return u
}

// Server returns the server facts.
func (l *Lab) Server() Server { return l.f.Server }

// RootCAs returns a pool holding the lab's test CA, for tls.Config.RootCAs.
func (l *Lab) RootCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(l.f.Server.CA)
	return pool
}

// NAT64Facts returns where the lab's NAT64 is and its prefix.
func (l *Lab) NAT64Facts() NAT64 { return l.f.NAT64 }

// info returns the lab's current facts.
func (l *Lab) info() (facts, error) {
	if l.own != nil {
		return l.own.facts(), nil
	}
	r, err := callCtl(context.Background(), l.f.Control, request{Op: opInfo})
	if err == nil {
		err = r.err()
	}
	if err != nil || r.Facts == nil {
		return facts{}, fmt.Errorf("lab: info: %v", err)
	}
	return *r.Facts, nil
}

// Resolver returns a resolver that talks only to the lab's DNS. It works in the
// client namespace, where the tests run.
func (l *Lab) Resolver() *net.Resolver {
	dns := l.f.Server.DNS.String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, dns)
		},
	}
}

// Listen creates a listener in the server namespace on addr (for example
// "[2001:db8:5::10]:0", see Server.Open6), for a test to serve HTTP or gRPC from
// the test process.
func (l *Lab) Listen(network, addr string) (net.Listener, error) {
	ln, err := listenIn(l.ns(roleServer), network, addr)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: network, Err: fmt.Errorf("lab server namespace: %w", err)}
	}
	return ln, nil
}

// ListenPacket creates a packet listener in the server namespace.
func (l *Lab) ListenPacket(network, addr string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := inNetNS(l.ns(roleServer), func() error {
		var err error
		pc, err = net.ListenPacket(network, addr)
		return err
	})
	return pc, err
}

func (l *Lab) ns(role string) string { return "gapr-" + l.f.Name + "-" + role }

// ExecClient returns a command that runs inside the client namespace (with the
// lab's resolv.conf), with EnvState set so that a lab test binary it runs uses
// this lab.
func (l *Lab) ExecClient(ctx context.Context, name string, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", l.f.Client, name}, args...)...)
	c.Env = append(os.Environ(), EnvState+"="+l.f.State)
	return c
}
