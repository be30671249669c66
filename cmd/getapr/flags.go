package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/getapr/getapr/netstate"
	"github.com/getapr/getapr/pairs"
	"github.com/getapr/getapr/probe"
)

// defaultTimeout is the default of --timeout.
const defaultTimeout = 5 * time.Second

// options are the flags common to every command but version.
type options struct {
	json         bool
	probeTargets targetList
	noProbe      bool
	share        shareFlag
	timeout      time.Duration
	wait         bool
	logLevel     levelFlag
	pref64       pref64List
	// attemptDelay is set by dial's --attempt-delay.
	attemptDelay time.Duration
	// eager is set by status and watch: probe as the prototype did.
	eager bool
}

// register adds the common flags to fs. jsonOnly registers --json alone.
func (o *options) register(fs *flag.FlagSet, jsonOnly bool) {
	fs.BoolVar(&o.json, "json", false, "print JSON with stable field names")
	o.timeout = defaultTimeout
	if jsonOnly {
		return
	}
	fs.Var(&o.probeTargets, "probe-target", "probe `HOST:PORT` too (repeatable)")
	fs.BoolVar(&o.noProbe, "no-probe", false, "no background probing: rank from the kernel's state and defaults only")
	fs.Var(&o.share, "share", "share what was learned with other processes, in the user's cache directory\n(getapr/pairs.json) or in PATH with --share=PATH (the '=' is needed: --share\ntakes no separate value)")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "give up on each network operation after this long")
	fs.BoolVar(&o.wait, "wait", false, "wait for the first probe round before answering")
	fs.Var(&o.logLevel, "log-level", "log the library at this zap `level` (debug, info, warn, error) to stderr; off by default")
	fs.Var(&o.pref64, "pref64", "the NAT64 `PREFIX[%IFACE]` of links that learn none from RAs or DNS (repeatable;\ndefault: $"+pairs.EnvPREF64+")")
}

// logger returns a zap logger writing to w at the chosen level, or a no-op one.
func (o *options) logger(w io.Writer) *zap.Logger {
	if !o.logLevel.set {
		return zap.NewNop()
	}
	enc := zap.NewDevelopmentEncoderConfig()
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), o.logLevel.level)
	return zap.New(core)
}

// backendOptions converts the flags for newBackend.
func (o *options) backendOptions(log *zap.Logger) backendOptions {
	return backendOptions{
		ProbeTargets: o.probeTargets,
		NoProbe:      o.noProbe,
		Eager:        o.eager,
		Share:        o.share.path,
		Timeout:      o.timeout,
		AttemptDelay: o.attemptDelay,
		Logger:       log,
	}
}

// targetList is the repeatable --probe-target HOST:PORT, or private:HOST:PORT to
// allow private addresses (see probe.CheckProbeTarget).
// pref64List is the repeatable --pref64 flag.
type pref64List struct {
	ps  []pairs.ConfiguredPREF64
	set bool
}

func (l *pref64List) String() string {
	var s []string
	for _, p := range l.ps {
		v := p.Prefix.String()
		if p.Interface != "" {
			v += "%" + p.Interface
		}
		s = append(s, v)
	}
	return strings.Join(s, ",")
}

func (l *pref64List) Set(s string) error {
	ps, err := pairs.ParsePREF64s(s)
	if err != nil {
		return errors.New(message(err)) // the flag package names the flag
	}
	l.ps, l.set = append(l.ps, ps...), true
	return nil
}

// configured returns the flag's prefixes, or those of the environment
// variable when the flag was not given.
func (l *pref64List) configured(getenv func(string) string) ([]pairs.ConfiguredPREF64, error) {
	if l.set {
		return l.ps, nil
	}
	ps, err := pairs.ParsePREF64s(getenv(pairs.EnvPREF64))
	if err != nil {
		return nil, fmt.Errorf("$%s: %s", pairs.EnvPREF64, message(err))
	}
	return ps, nil
}

type targetList []string

func (l *targetList) String() string { return strings.Join(*l, ",") }

func (l *targetList) Set(s string) error {
	rest, private := strings.CutPrefix(s, probe.PrivateTarget)
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return fmt.Errorf("want HOST:PORT or %sHOST:PORT: %v", probe.PrivateTarget, err)
	}
	if err := checkHost(host); err != nil {
		return err
	}
	if _, err := parsePort(port); err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := probe.CheckProbeTarget(ip.Unmap(), private); err != nil {
			return err
		}
	}
	*l = append(*l, s)
	return nil
}

// shareFlag is --share or --share=PATH. err is why a bare --share has no
// default path (no cache directory): check reports it, naming --share, where
// an error of Set would be worded by package flag as a bad boolean.
type shareFlag struct {
	path string
	err  error
}

func (f *shareFlag) String() string   { return f.path }
func (f *shareFlag) IsBoolFlag() bool { return true }

func (f *shareFlag) Set(s string) error {
	switch s {
	case "true":
		f.path, f.err = probe.DefaultSharePath()
	case "false", "":
		f.path, f.err = "", nil
	default:
		f.path, f.err = s, nil
	}
	return nil
}

// checkShareValue refuses "--share PATH". --share takes its path only after
// '=' (a bare --share means the default path), so PATH would be taken for a
// positional argument: a host, a port, or one too many. An argument right
// after a bare --share that can only be a path is refused: one with a path
// separator (no host or port has one) or ending in .json (as pairs.json).
func checkShareValue(args []string) error {
	for i, a := range args[:max(len(args)-1, 0)] {
		if a == "--" {
			return nil
		}
		next := args[i+1]
		isPath := strings.ContainsRune(next, '/') || strings.ContainsRune(next, filepath.Separator) ||
			strings.HasSuffix(next, ".json")
		if (a == "--share" || a == "-share") && isPath && !strings.HasPrefix(next, "-") {
			return fmt.Errorf("--share takes its path after '=': write --share=%s", next)
		}
	}
	return nil
}

// check refuses a path that sharing would refuse at once (see
// probe.CheckSharePath): a special file such as /dev/null, a symbolic link, a
// directory other users can write to.
func (f *shareFlag) check() error {
	if f.err != nil {
		return fmt.Errorf("--share: %v", f.err)
	}
	if f.path == "" {
		return nil
	}
	if err := probe.CheckSharePath(f.path); err != nil {
		return fmt.Errorf("--share: %v", err)
	}
	return nil
}

// levelFlag is --log-level; "off" (the default) disables logging.
type levelFlag struct {
	level zapcore.Level
	set   bool
}

func (f *levelFlag) String() string {
	if !f.set {
		return "off"
	}
	return f.level.String()
}

func (f *levelFlag) Set(s string) error {
	if s == "off" {
		f.set = false
		return nil
	}
	if err := f.level.UnmarshalText([]byte(s)); err != nil {
		return fmt.Errorf("unknown level %q (debug, info, warn, error or off)", s)
	}
	f.set = true
	return nil
}

// parseInterspersed parses args with fs, allowing flags after positional
// arguments ("pairs host 443 --json"). A "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// checkUnicast refuses an IP literal no pair can reach (netstate.Classify's
// NotSource): multicast, broadcast, the unspecified address, a reserved block.
// A name is left to the lookup.
func checkUnicast(host string) error {
	a, err := netip.ParseAddr(host)
	if err != nil || netstate.Classify(a.Unmap()) != netstate.NotSource {
		return nil
	}
	a = a.Unmap()
	what := "a reserved address"
	switch {
	case a.IsMulticast():
		what = "a multicast address"
	case a.IsUnspecified():
		what = "the unspecified address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		what = "the broadcast address"
	}
	return fmt.Errorf("bad host %q: %s, not a unicast destination", host, what)
}

// checkZone refuses an IP literal whose zone names none of the host's
// interfaces (as b sees them).
func checkZone(b backend, host string) error {
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() == "" || b.HasInterface(a.Zone()) {
		return nil
	}
	return usagef("bad host %q: no interface %q", host, a.Zone())
}

// unbracket returns host without the brackets of an IPv6 literal ("[::1]").
func unbracket(host string) string {
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		return host[1 : len(host)-1]
	}
	return host
}

// checkHost accepts an IP literal (IPv6 with an optional zone, no brackets) or a
// syntactically valid DNS name.
func checkHost(h string) error {
	if _, err := netip.ParseAddr(h); err == nil {
		return nil
	}
	if h == "" {
		return errors.New("empty host")
	}
	if strings.ContainsAny(h, ":[]%") {
		return fmt.Errorf("bad host %q: not an IP address", h)
	}
	name := strings.TrimSuffix(h, ".")
	if len(name) > 253 {
		return fmt.Errorf("bad host %q: name longer than 253 bytes", h)
	}
	for label := range strings.SplitSeq(name, ".") {
		if err := checkLabel(label); err != nil {
			return fmt.Errorf("bad host %q: %v", h, err)
		}
	}
	return nil
}

func checkLabel(l string) error {
	switch {
	case l == "":
		return errors.New("empty label")
	case len(l) > 63:
		return errors.New("label longer than 63 bytes")
	case l[0] == '-' || l[len(l)-1] == '-':
		return fmt.Errorf("label %q starts or ends with '-'", l)
	}
	for _, r := range l {
		ok := r == '-' || r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
		if !ok {
			return fmt.Errorf("character %q not allowed in a name", r)
		}
	}
	return nil
}

// parsePort accepts a number in 1..65535 or a TCP service name from the local
// services database ("https").
func parsePort(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 65535 {
			return 0, fmt.Errorf("bad port %q: not in 1..65535", s)
		}
		return n, nil
	}
	// The pure Go lookup reads the services file (with a built-in fallback for
	// common names) and never touches the network.
	n, err := (&net.Resolver{PreferGo: true}).LookupPort(context.Background(), "tcp", s)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad port %q: not a number or a known service", s)
	}
	return n, nil
}

// dest is one HOST:PORT the user named.
type dest struct {
	host string
	port int
}

func (d dest) String() string { return net.JoinHostPort(d.host, strconv.Itoa(d.port)) }

// parseDest parses "HOST", "HOST:PORT" or "[IPv6]:PORT"; a missing port is def
// (def 0: the port is required). An empty host with a port (":8080") is the
// local system, as for net.Dialer.
func parseDest(s string, def int) (dest, error) {
	host, port, err := net.SplitHostPort(s)
	localSystem := err == nil && host == ""
	if err != nil {
		if def == 0 {
			return dest{}, fmt.Errorf("bad address %q: want HOST:PORT", s)
		}
		host, port = unbracket(s), strconv.Itoa(def)
	}
	if !localSystem {
		if err := checkHost(host); err != nil {
			return dest{}, err
		}
	}
	n, err := parsePort(port)
	if err != nil {
		return dest{}, err
	}
	return dest{host: host, port: n}, nil
}
