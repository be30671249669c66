package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/getapr/getapr/probe"
)

// dialJSON is the JSON output of "getapr dial".
type dialJSON struct {
	Address  string        `json:"address"`
	Network  string        `json:"network"`
	Dialer   string        `json:"dialer"`        // "PairDialer" or "net.Dialer"
	TLS      bool          `json:"tls,omitempty"` // success was the TLS handshake
	OK       bool          `json:"ok"`
	TotalMS  float64       `json:"total_ms"`
	Attempts []attemptJSON `json:"attempts"`
	Winner   *winnerJSON   `json:"winner"` // null when the dial failed
	Error    string        `json:"error,omitempty"`
}

// attemptJSON is one connect attempt.
type attemptJSON struct {
	StartMS    float64  `json:"start_ms"` // since the dial began
	Src        string   `json:"src"`      // "" when unknown (a failed net.Dialer dial)
	Interface  string   `json:"interface"`
	Dst        string   `json:"dst"`
	Outcome    string   `json:"outcome"`     // won, connected, refused, timeout, unreachable, canceled, error
	DurationMS *float64 `json:"duration_ms"` // null while still running when the dial returned
	Error      string   `json:"error,omitempty"`
}

// winnerJSON is the connection the dial returned.
type winnerJSON struct {
	Attempt int            `json:"attempt"` // 1-based index into attempts; 0 when not traced
	Local   netip.AddrPort `json:"local"`
	Remote  netip.AddrPort `json:"remote"`
}

func runDial(ctx context.Context, c *cli, cmd *command, args []string) error {
	var stdlib, v4, v6, useTLS bool
	var delay time.Duration
	o, pos, err := c.parse(cmd, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&stdlib, "stdlib", false, "dial with the standard library's net.Dialer instead, for comparison")
		fs.DurationVar(&delay, "attempt-delay", 0, "PairDialer.AttemptDelay (0: the dialer's default, adaptive; negative: one attempt at a time)")
		fs.BoolVar(&v4, "4", false, "IPv4 only (tcp4)")
		fs.BoolVar(&v6, "6", false, "IPv6 only (tcp6)")
		fs.BoolVar(&useTLS, "tls", false, "succeed only with a TLS handshake (DialTLSContext; the system's roots verify the certificate)")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return badArgs(cmd, "want HOST:PORT, got %d arguments", len(pos))
	}
	network, err := ipNetwork("tcp", v4, v6)
	if err != nil {
		return badArgs(cmd, "%v", err)
	}
	d, err := parseDest(pos[0], 0)
	if err != nil {
		return usagef("%v", err)
	}
	o.attemptDelay = delay
	b, err := c.open(ctx, o)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := checkZone(b, d.host); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	rep := c.dial(ctx, b, network, d.String(), stdlib, useTLS)
	if o.json {
		if err := writeJSON(c.stdout, rep); err != nil {
			return err
		}
	} else {
		printDial(c.stdout, rep)
	}
	return rep.err
}

// dialReport is dialJSON plus the error itself.
type dialReport struct {
	dialJSON
	err error
}

// dial dials address and builds the report; the connection is closed at once.
func (c *cli) dial(ctx context.Context, b backend, network, address string, stdlib, useTLS bool) *dialReport {
	tl := newTimeline()
	stop := c.progress("dialing " + address)
	var conn net.Conn
	var err error
	if stdlib {
		conn, err = b.DialStdlib(ctx, network, address, useTLS)
	} else {
		conn, err = b.Dial(ctx, network, address, useTLS, tl.trace())
	}
	total := time.Since(tl.t0)
	stop()
	as := tl.snapshot()
	if stdlib {
		as = []attempt{stdlibAttempt(conn, address, total, err)}
	}
	rep := &dialReport{err: err, dialJSON: dialJSON{
		Address: address, Network: network, Dialer: "PairDialer", TLS: useTLS,
		OK: err == nil, TotalMS: msJSON(total),
	}}
	if stdlib {
		rep.Dialer = "net.Dialer"
	}
	win := -1
	if conn != nil {
		win = winnerIndex(as, conn)
		rep.Winner = &winnerJSON{Attempt: win + 1, Local: unmapPort(addrPortOf(conn.LocalAddr())), Remote: unmapPort(addrPortOf(conn.RemoteAddr()))}
		if win >= 0 && as[win].src == "" { // the kernel chose it: now it is known
			as[win].src = rep.Winner.Local.Addr().String()
		}
		conn.Close()
	}
	if err != nil {
		rep.Error = oneLine(err.Error())
	}
	rep.Attempts = make([]attemptJSON, len(as))
	for i, a := range as {
		rep.Attempts[i] = a.toJSON(i == win)
	}
	return rep
}

// stdlibAttempt describes a net.Dialer dial as a single attempt.
func stdlibAttempt(conn net.Conn, address string, total time.Duration, err error) attempt {
	a := attempt{dst: address, finished: true, dur: total, err: err}
	if conn != nil {
		a.src = unmapPort(addrPortOf(conn.LocalAddr())).Addr().String()
		a.dst = unmapPort(addrPortOf(conn.RemoteAddr())).String()
	}
	return a
}

func (a attempt) toJSON(won bool) attemptJSON {
	j := attemptJSON{StartMS: msJSON(a.start), Src: a.src, Interface: a.iface, Dst: a.dst}
	switch {
	case !a.finished:
		j.Outcome = "canceled"
	case a.err == nil && (won || !a.fromTrace):
		j.Outcome = "won"
	default:
		j.Outcome = outcomeOf(a.err)
	}
	if a.finished {
		ms := msJSON(a.dur)
		j.DurationMS = &ms
	}
	if a.err != nil {
		j.Error = oneLine(a.err.Error())
	}
	return j
}

func printDial(w io.Writer, rep *dialReport) {
	tw := newTable(w)
	if len(rep.Attempts) > 0 { // none: the dial failed before its first attempt
		fmt.Fprintln(tw, "#\tSTART\tSOURCE\tINTERFACE\tDESTINATION\tOUTCOME\tDURATION")
	}
	for i, a := range rep.Attempts {
		dur := "-"
		if a.DurationMS != nil {
			dur = msText(*a.DurationMS)
		}
		fmt.Fprintf(tw, "%d\t+%s\t%s\t%s\t%s\t%s\t%s\n", i+1, msText(a.StartMS),
			orDash(a.Src), orDash(a.Interface), a.Dst, a.Outcome, dur)
	}
	tw.Flush()
	if rep.Winner != nil {
		n := "untraced"
		if rep.Winner.Attempt > 0 {
			n = fmt.Sprintf("attempt %d", rep.Winner.Attempt)
		}
		fmt.Fprintf(w, "connected %s -> %s (%s, %s)\n", rep.Winner.Local, rep.Winner.Remote, n, rep.Dialer)
	} else {
		fmt.Fprintf(w, "failed (%s)\n", rep.Dialer)
	}
	fmt.Fprintf(w, "total %s\n", msText(rep.TotalMS))
}

// outcomeOf names how an attempt ended: connected, or the probe result (refused,
// timeout, unreachable, canceled, error).
func outcomeOf(err error) string {
	if err == nil {
		return "connected"
	}
	return probe.ResultOf(err).String()
}

func unmapPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
