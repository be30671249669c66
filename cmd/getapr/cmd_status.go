package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/getapr/getapr/probe"
)

func runStatus(ctx context.Context, c *cli, cmd *command, args []string) error {
	o, pos, err := c.parse(cmd, args, nil)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return badArgs(cmd, "status takes no arguments")
	}
	o.eager = true // the status flags want the gateways probed
	b, err := c.open(ctx, o)
	if err != nil {
		return err
	}
	defer b.Close()
	st := b.Status()
	if o.json {
		st.Sources = nonNil(st.Sources)
		st.Middleboxes = nonNil(st.Middleboxes)
		st.NAT64Links = nonNil(st.NAT64Links)
		return writeJSON(c.stdout, st)
	}
	c.printStatus(c.stdout, st)
	return nil
}

// field is one named scalar of the status: a flag or a gateway.
type field struct{ key, value string }

// statusFields returns the flags and gateways of st under their JSON keys (the
// prototype's names), in declaration order. It follows probe.Status by reflection
// so that a flag added there shows up here.
func statusFields(st probe.Status) []field {
	v := reflect.ValueOf(st)
	t := v.Type()
	var out []field
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		switch x := v.Field(i).Interface().(type) {
		case bool:
			out = append(out, field{key, strconv.FormatBool(x)})
		case netip.Addr:
			out = append(out, field{key, addrText(x)})
		case netip.Prefix:
			out = append(out, field{key, prefixText(x)})
		case string:
			out = append(out, field{key, orDash(x)})
		}
	}
	for _, l := range st.NAT64Links {
		v := l.Prefix.String() + " " + l.Source
		if l.Router.IsValid() {
			v += " from " + l.Router.String()
		}
		out = append(out, field{"nat64 " + l.Interface, v})
	}
	return out
}

// prefixText is p, or "-" when it is invalid (JSON null).
func prefixText(p netip.Prefix) string {
	if !p.IsValid() {
		return "-"
	}
	return p.String()
}

func (c *cli) printStatus(w io.Writer, st probe.Status) {
	tw := newTable(w)
	for _, f := range statusFields(st) {
		fmt.Fprintf(tw, "%s\t%s\n", f.key, f.value)
	}
	fmt.Fprintf(tw, "changed\t%s\n", c.timeText(st.Changed))
	tw.Flush()
	fmt.Fprintln(w)
	if len(st.Sources) == 0 {
		fmt.Fprintln(w, "no source addresses")
		return
	}
	tw = newTable(w)
	fmt.Fprintln(tw, "SOURCE\tINTERFACE\tCLASS\tHEALTH\tFAILURES\tSINCE\tNEXT CHECK")
	for _, s := range st.Sources {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Addr, orDash(s.Interface), s.Class,
			s.Health, s.Failures, c.timeText(s.Since), c.timeText(s.NextCheck))
	}
	tw.Flush()
	if len(st.Middleboxes) > 0 {
		fmt.Fprintln(w)
		tw = newTable(w)
		fmt.Fprintln(tw, "MIDDLEBOX SOURCE\tDESTINATION\tSINCE")
		for _, m := range st.Middleboxes {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Src, m.Dst, c.timeText(m.Since))
		}
		tw.Flush()
	}
}

// timeText formats t in the cli's zone, "-" for the zero time.
func (c *cli) timeText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(c.loc).Format(time.DateTime)
}
