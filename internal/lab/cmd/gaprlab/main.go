package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"text/tabwriter"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

const defaultName = "demo"

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	code := 0
	switch cmd {
	case "up":
		err = up(args)
	case "down":
		err = down(args)
	case "info":
		err = info(args)
	case "exec":
		code, err = execClient(args)
	case "ctl":
		err = ctl(args)
	case "daemon":
		err = daemon(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gaprlab %s: %v\n", cmd, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gaprlab up|down|info|exec|ctl [-name N] ... (see go doc ./internal/lab/cmd/gaprlab)")
	os.Exit(2)
}

// flags parses the common -name flag and returns the rest.
func flags(cmd string, args []string, more func(*flag.FlagSet)) (string, []string) {
	fs := flag.NewFlagSet("gaprlab "+cmd, flag.ExitOnError)
	name := fs.String("name", defaultName, "the lab's name: namespaces gapr-NAME-*")
	if more != nil {
		more(fs)
	}
	_ = fs.Parse(args)
	return *name, fs.Args()
}

func down(args []string) error {
	name, _ := flags("down", args, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := lab.Down(ctx, name); err != nil {
		return err
	}
	_ = os.Remove(logPath(name))
	fmt.Printf("lab %s is down (%v)\n", name, time.Since(start).Round(time.Millisecond))
	return nil
}

func info(args []string) error {
	var asJSON bool
	name, _ := flags("info", args, func(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") })
	l, err := lab.Attach(name)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(os.Stdout, l)
	}
	printFacts(os.Stdout, l)
	return nil
}

func execClient(args []string) (int, error) {
	name, rest := flags("exec", args, nil)
	if len(rest) == 0 {
		return 0, errors.New("nothing to run: want gaprlab exec -- CMD ARGS")
	}
	l, err := lab.Attach(name)
	if err != nil {
		return 0, err
	}
	c := l.ExecClient(context.Background(), rest[0], rest[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Run(); err != nil {
		if ee, ok := errors.AsType[*exec.ExitError](err); ok {
			return max(ee.ExitCode(), 1), nil
		}
		return 0, err
	}
	return 0, nil
}

// labJSON is the -json form of the facts.
type labJSON struct {
	Name       string       `json:"name"`
	Namespaces []string     `json:"namespaces"`
	Client     string       `json:"client"`
	Uplinks    []lab.Uplink `json:"uplinks"`
	Server     lab.Server   `json:"server"`
	State      string       `json:"state"`
}

func printJSON(w io.Writer, l *lab.Lab) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(labJSON{
		Name: l.Name(), Namespaces: l.Namespaces(), Client: l.Client(),
		Uplinks: []lab.Uplink{l.Uplink(0), l.Uplink(1)}, Server: l.Server(), State: l.StateFile(),
	})
}

func printFacts(w io.Writer, l *lab.Lab) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "lab\t%s\t%v\n", l.Name(), l.Namespaces())
	fmt.Fprintf(tw, "client\t%s\tgaprlab exec -name %s -- CMD\n", l.Client(), l.Name())
	for i := range 2 {
		u := l.Uplink(i)
		fmt.Fprintf(tw, "uplink %d\t%s, rtt %v\tGUA %v", i, u.Interface, u.RTT, u.GUA)
		if u.ULA.IsValid() {
			fmt.Fprintf(tw, ", ULA %v (NPTv6 %v)", u.ULA, u.ULAOutside)
		}
		fmt.Fprintf(tw, ", IPv4 %v", u.IPv4)
		if u.IPv4Outside != u.IPv4 {
			fmt.Fprintf(tw, " (NAT44 %v)", u.IPv4Outside)
		}
		fmt.Fprintf(tw, ", router %v %v\n", u.Router6, u.Router4)
	}
	s := l.Server()
	fmt.Fprintf(tw, "server\tpeer-echo port %d\topen %v %v, refuse %v %v, drop %v %v\n",
		s.Port, s.Open6, s.Open4, s.Refuse6, s.Refuse4, s.Drop6, s.Drop4)
	fmt.Fprintf(tw, "names\tDNS %v\t%s, %s (AAAA after %v), %s, %s, %s, %s\n", s.DNS,
		s.Name, s.SlowAAAAName, s.SlowAAAADelay, s.NoAAAAName, s.MultiName, s.RefuseName, s.DropName)
	n := l.NAT64Facts()
	fmt.Fprintf(tw, "nat64\tuplink %d, prefix %v\tgaprlab ctl nat64 on | dns64 on | pref64 %d %v 30m\n", n.Uplink, n.Prefix, n.Uplink, n.Prefix)
	fmt.Fprintf(tw, "state\t%s\t%s=%s for lab tests against this lab\n", l.StateFile(), lab.EnvState, l.StateFile())
	tw.Flush()
}
