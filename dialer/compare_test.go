package dialer_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http/httptrace"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getapr/getapr/dialer"
	"github.com/getapr/getapr/pairs"
)

// The comparison harness: inputs run through net.Dialer and PairDialer (the
// zero value's Selector, and an explicit one), asserting the same outcome,
// connection type, addresses, error (OpError fields, Err's type, errno, text,
// Timeout, Temporary) and httptrace events, except the intended differences
// an input may show. Every difference is named here and listed in the README
// ("Where PairDialer differs from net.Dialer"), with its reason.

// difference is an intended difference between PairDialer and net.Dialer.
type difference string

// The intended differences, and the result fields each may change.
const (
	// A dial that made several attempts that all failed returns an
	// *AttemptsError as OpError.Err; net.Dialer returns the first address's
	// error. errors.Is/As, Timeout and Temporary answer alike.
	diffSeveral difference = "several attempts: Err is *AttemptsError"
	// PairDialer binds the source it chose: OpError.Source names it, where
	// net.Dialer's is nil (the kernel chose at connect time).
	diffSource difference = "the chosen source is bound: OpError.Source set"
	// PairDialer races pairs and may connect from another source or to
	// another address of the name than net.Dialer's first choice, and try
	// other addresses than net.Dialer does before it.
	diffPath difference = "racing: another source or address may win"
	// A link-local destination without a zone: PairDialer tries the link-local
	// source of each interface; net.Dialer fails with EINVAL.
	diffLinkLocal difference = "link-local without zone: tried on each link"
	// PairDialer does not wait more than the Resolution Delay (RFC 8305, 50
	// ms) for a slow AAAA answer once A has answered, nor for A once AAAA has
	// (Happy Eyeballs v3): the other family's addresses join the race when
	// they arrive, and DNSDone lists the answers in when both were or the
	// dial ended. The Go resolver waits for both.
	diffResolutionDelay difference = "resolution delay: the second family is not waited for"
	// With rtnetlink refused, the standard library cannot turn a zone's
	// interface name into its index: net.Dialer fails with EINVAL; PairDialer
	// uses the index of the interface list it read without rtnetlink.
	diffZoneName difference = "zone names resolved without rtnetlink"
	// An IPv4 destination the host has no route to and no NAT64 prefix
	// (PREF64) for: the connect fails as net.Dialer's, and its error says
	// that too, in an Err that unwraps to net.Dialer's (errors.Is and As
	// answer alike).
	diffNoNAT64 difference = "no IPv4 route and no NAT64 prefix: the error says so"
)

// fields returns the result fields d may change.
func (d difference) fields() []string {
	switch d {
	case diffSeveral:
		return []string{"ErrType", "Text"}
	case diffSource:
		return []string{"Source", "Text"}
	case diffPath:
		return []string{"Local", "Remote", "Connects", "Text", "Addr", "Errno", "ErrType", "Timeout", "Temporary"}
	case diffNoNAT64:
		return []string{"ErrType", "Text"}
	case diffZoneName:
		return []string{"Conn", "Local", "Remote", "Connects", "Source", "Addr", "ErrType", "Errno", "Text"}
	case diffResolutionDelay:
		return []string{"DNS", "Local", "Remote", "Connects"}
	case diffLinkLocal:
		return []string{"Conn", "Local", "Remote", "Connects", "Op", "Net", "Source", "Addr", "ErrType", "Errno", "Text", "Timeout", "Temporary"}
	}
	return nil
}

// ctxKind is how the dial's context is set up.
type ctxKind uint8

const (
	ctxLive     ctxKind = iota
	ctxCanceled         // canceled before the dial
)

// dialInput is one input of the comparison.
type dialInput struct {
	name     string
	network  string
	address  string
	local    net.Addr
	timeout  time.Duration
	deadline time.Time // Dialer.Deadline
	ctx      ctxKind
	control  error // a Control func failing with it
	allow    []difference
}

// result is what a dial did, in the terms the comparison checks.
type result struct {
	Conn      string // the connection's type; "" when the dial failed
	Local     string // the connection's local IP, with the port when LocalAddr fixed one
	Remote    string // the connection's remote address
	Op        string
	Net       string
	Source    string
	Addr      string
	ErrType   string // the type of OpError.Err (of the error when no OpError)
	Errno     syscall.Errno
	Text      string
	Timeout   bool
	Temporary bool
	DNS       []string
	Connects  []string // ConnectStart and ConnectDone events, sorted
}

// ok reports whether the dial connected.
func (r result) ok() bool { return r.Conn != "" }

// short is a one-line summary for the table.
func (r result) short() string {
	if r.ok() {
		return "ok " + strings.TrimPrefix(r.Conn, "*net.")
	}
	s := strings.TrimPrefix(r.ErrType, "*")
	if r.Errno != 0 {
		s += " " + unixErrnoName(r.Errno)
	}
	if r.Timeout {
		s += " timeout"
	}
	return s
}

func unixErrnoName(e syscall.Errno) string {
	switch e {
	case syscall.ECONNREFUSED:
		return "ECONNREFUSED"
	case syscall.ENETUNREACH:
		return "ENETUNREACH"
	case syscall.EHOSTUNREACH:
		return "EHOSTUNREACH"
	case syscall.EADDRNOTAVAIL:
		return "EADDRNOTAVAIL"
	case syscall.EINVAL:
		return "EINVAL"
	case syscall.EACCES:
		return "EACCES"
	}
	return fmt.Sprintf("errno %d", int(e))
}

// traceRecorder records a dial's httptrace events.
type traceRecorder struct {
	mu       sync.Mutex
	dns      []string
	connects []string
}

func (tr *traceRecorder) context(ctx context.Context) context.Context {
	add := func(to *[]string, s string) {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		*to = append(*to, s)
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		DNSStart: func(i httptrace.DNSStartInfo) { add(&tr.dns, "DNSStart "+i.Host) },
		DNSDone: func(i httptrace.DNSDoneInfo) {
			addrs := make([]string, len(i.Addrs))
			for j, a := range i.Addrs {
				addrs[j] = a.String()
			}
			slices.Sort(addrs) // the resolver's order is not compared
			add(&tr.dns, fmt.Sprintf("DNSDone %v err=%v", addrs, i.Err))
		},
		ConnectStart: func(network, addr string) { add(&tr.connects, "ConnectStart "+network+" "+addr) },
		ConnectDone: func(network, addr string, err error) {
			add(&tr.connects, fmt.Sprintf("ConnectDone %s %s err=%v", network, addr, errnoOf(err)))
		},
	})
}

// errnoOf returns the errno in err, 0 if none.
func errnoOf(err error) syscall.Errno {
	var errno syscall.Errno
	errors.As(err, &errno)
	return errno
}

// dialFn is DialContext of either dialer.
type dialFn func(ctx context.Context, network, address string) (net.Conn, error)

// run makes the dial of in with dial and returns what happened.
func (in dialInput) run(dial dialFn) result {
	ctx := context.Background()
	if in.ctx == ctxCanceled {
		c, cancel := context.WithCancel(ctx)
		cancel()
		ctx = c
	}
	var tr traceRecorder
	c, err := dial(tr.context(ctx), in.network, in.address)
	var r result
	tr.mu.Lock()
	r.DNS, r.Connects = tr.dns, slices.Sorted(slices.Values(tr.connects))
	tr.mu.Unlock()
	if err == nil {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // no TIME_WAIT: inputs with a fixed local port run again
		}
		defer c.Close()
		r.Conn = fmt.Sprintf("%T", c)
		if la := c.LocalAddr(); la != nil {
			r.Local = addrIP(la)
			if fixedPort(in.local) != 0 { // an ephemeral port differs from dial to dial
				r.Local = la.String()
			}
		}
		if ra := c.RemoteAddr(); ra != nil {
			r.Remote = ra.String()
		}
		return r
	}
	r.Text, r.Errno = err.Error(), errnoOf(err)
	var ne net.Error
	if errors.As(err, &ne) {
		r.Timeout = ne.Timeout()
		r.Temporary = ne.Temporary() //lint:ignore SA1019 grpc-go and others still read it
	}
	r.ErrType = fmt.Sprintf("%T", err)
	if oe, ok := err.(*net.OpError); ok {
		r.Op, r.Net, r.ErrType = oe.Op, oe.Net, errType(oe.Err)
		if oe.Source != nil {
			r.Source = oe.Source.String()
		}
		if oe.Addr != nil {
			r.Addr = oe.Addr.String()
		}
	}
	return r
}

// errType names the type of err. The two types of net's "i/o timeout" count
// as one: which one a connect that runs into its deadline returns depends on a
// race inside net (the socket's deadline or the context's watcher first), as
// two net.Dialer dials of the same input show.
func errType(err error) string {
	t := fmt.Sprintf("%T", err)
	if t == "*poll.DeadlineExceededError" || t == "*net.timeoutError" {
		return "i/o timeout"
	}
	return t
}

// fixedPort returns the port of a dial's LocalAddr, 0 when it fixes none.
func fixedPort(a net.Addr) int {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.Port
	case *net.UDPAddr:
		return a.Port
	}
	return 0
}

// addrIP returns the IP of a connection's local address.
func addrIP(a net.Addr) string {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.String()
	case *net.UDPAddr:
		return a.IP.String()
	}
	return a.String()
}

// diff returns the names of the fields where a and b differ.
func diff(a, b result) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, va.Type().Field(i).Name)
		}
	}
	return out
}

// dialers returns net.Dialer and PairDialer set up for in; sel nil means the
// zero value's Selector.
func (in dialInput) dialers(r *net.Resolver, sel *pairs.Selector) (*net.Dialer, *dialer.PairDialer) {
	nd := &net.Dialer{Timeout: in.timeout, Deadline: in.deadline, LocalAddr: in.local, Resolver: r}
	pd := &dialer.PairDialer{Timeout: in.timeout, Deadline: in.deadline, LocalAddr: in.local, Resolver: r, Selector: sel}
	if in.control != nil {
		fail := func(string, string, syscall.RawConn) error { return in.control }
		nd.Control, pd.Control = fail, fail
	}
	return nd, pd
}

// comparison is the outcome of one input for one PairDialer variant.
type comparison struct {
	in        dialInput
	variant   string
	net, pair result
	fields    []string     // that differ
	shown     []difference // the allowed differences that explain them
	problem   string       // non-empty when a difference is not allowed
}

// netDialerRetries is how many more times compare dials net.Dialer when its
// first result and PairDialer's differ in a way no intended difference
// explains.
const netDialerRetries = 4

// compare runs every input through both dialers (and the PairDialer with
// each Selector of sels: nil is the zero value's) and returns the
// comparisons.
func compare(inputs []dialInput, r *net.Resolver, sels map[string]*pairs.Selector) []comparison {
	var out []comparison
	for _, in := range inputs {
		for _, variant := range slices.Sorted(maps.Keys(sels)) {
			nd, pd := in.dialers(r, sels[variant])
			want := in.run(nd.DialContext)
			got := in.run(pd.DialContext)
			c := judge(in, variant, want, got)
			// net.Dialer is not deterministic everywhere (with a canceled
			// context it sometimes resolves a name before it notices):
			// PairDialer matches when it does what one of a few more
			// net.Dialer dials of the same input does.
			for retry := 0; c.problem != "" && retry < netDialerRetries; retry++ {
				if again := judge(in, variant, in.run(nd.DialContext), got); again.problem == "" {
					c = again
				}
			}
			out = append(out, c)
		}
	}
	return out
}

// judge compares the results of one input.
func judge(in dialInput, variant string, want, got result) comparison {
	c := comparison{in: in, variant: variant, net: want, pair: got, fields: diff(want, got)}
	var unexplained []string
	for _, f := range c.fields {
		explained := false
		for _, d := range in.allow {
			if slices.Contains(d.fields(), f) {
				explained = true
				if !slices.Contains(c.shown, d) {
					c.shown = append(c.shown, d)
				}
			}
		}
		if !explained {
			unexplained = append(unexplained, f)
		}
	}
	if want.ok() != got.ok() && !slices.Contains(in.allow, diffLinkLocal) && !slices.Contains(in.allow, diffZoneName) {
		unexplained = append(unexplained, "outcome")
	}
	if len(unexplained) > 0 {
		c.problem = fmt.Sprintf("differs in %v:\n\tnet.Dialer: %+v\n\tPairDialer: %+v", unexplained, want, got)
	}
	return c
}

// report fails t for every comparison with an unexplained difference, and
// logs the table of all of them.
func report(t *testing.T, where string, cs []comparison) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "comparison %s: %d inputs × %d variants\n", where, len(cs)/max(variants(cs), 1), variants(cs))
	b.WriteString("| input | network | net.Dialer | PairDialer | variant | same | intended difference |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	netOK, pairOK, same := 0, 0, 0
	for _, c := range cs {
		verdict := "yes"
		switch {
		case c.problem != "":
			verdict = "NO"
			t.Errorf("%s %s (%s %q, %s): %s", where, c.in.name, c.in.network, c.in.address, c.variant, c.problem)
		case len(c.fields) > 0:
			verdict = "listed"
		default:
			same++
		}
		if c.net.ok() {
			netOK++
			if c.pair.ok() {
				pairOK++
			}
		}
		var shown []string
		for _, d := range c.shown {
			shown = append(shown, string(d))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", c.in.name, c.in.network,
			c.net.short(), c.pair.short(), c.variant, verdict, strings.Join(shown, "; "))
	}
	fmt.Fprintf(&b, "identical: %d of %d; net.Dialer connected %d, PairDialer connected %d of those\n", same, len(cs), netOK, pairOK)
	t.Log(b.String())
	if pairOK != netOK {
		t.Errorf("%s: PairDialer connected %d of the %d dials net.Dialer made", where, pairOK, netOK)
	}
}

func variants(cs []comparison) int {
	seen := map[string]bool{}
	for _, c := range cs {
		seen[c.variant] = true
	}
	return len(seen)
}
