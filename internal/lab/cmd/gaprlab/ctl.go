package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// ctl parses and applies one control.
func ctl(args []string) error {
	name, rest := flags("ctl", args, nil)
	if len(rest) == 0 {
		return fmt.Errorf("which control? rtt, blackhole, cut, cutkeep, move, ingress, policy, families, nat44, nptv6, nat64, dns64, pref64, addaddr, deladdr, restore")
	}
	apply, err := parseControl(rest[0], rest[1:])
	if err != nil {
		return err
	}
	l, err := lab.Attach(name)
	if err != nil {
		return err
	}
	return apply(l)
}

// A control is one parsed control, ready to apply to a lab.
type control func(*lab.Lab) error

// parseControl parses control op with its arguments.
func parseControl(op string, args []string) (control, error) {
	usage := map[string]string{
		"restore": "", "policy": "on|off", "nat44": "on|off", "nptv6": "on|off", "families": "v4|v6|both",
		"nat64": "on|off", "dns64": "on|off", "pref64": "UPLINK PREFIX LIFETIME",
		"rtt": "UPLINK DURATION", "blackhole": "UPLINK on|off", "cut": "UPLINK on|off",
		"ingress": "UPLINK on|off", "addaddr": "UPLINK PREFIX", "deladdr": "UPLINK PREFIX",
		"cutkeep": "UPLINK on|off", "move": "UPLINK away|home",
	}
	form, ok := usage[op]
	if !ok {
		return nil, fmt.Errorf("unknown control %q", op)
	}
	if want := len(strings.Fields(form)); len(args) != want {
		return nil, fmt.Errorf("usage: gaprlab ctl %s %s", op, form)
	}
	switch op {
	case "restore":
		return (*lab.Lab).Restore, nil
	case "policy", "nat44", "nptv6", "nat64", "dns64":
		on, err := onOff(args[0])
		set := map[string]func(*lab.Lab, bool) error{"policy": (*lab.Lab).PolicyRouting, "nat44": (*lab.Lab).NAT44,
			"nptv6": (*lab.Lab).NPTv6, "nat64": (*lab.Lab).NAT64, "dns64": (*lab.Lab).DNS64}[op]
		return func(l *lab.Lab) error { return set(l, on) }, err
	case "families":
		f, ok := map[string][2]bool{"v4": {true, false}, "v6": {false, true}, "both": {true, true}}[args[0]]
		if !ok {
			return nil, fmt.Errorf("families %q: want v4, v6 or both", args[0])
		}
		return func(l *lab.Lab) error { return l.Families(f[0], f[1]) }, nil
	}
	uplink, err := strconv.Atoi(args[0])
	if err != nil || uplink < 0 || uplink > 1 {
		return nil, fmt.Errorf("uplink %q: want 0 or 1", args[0])
	}
	if op == "pref64" {
		p, err := netip.ParsePrefix(args[1])
		if err != nil {
			return nil, err
		}
		d, err := time.ParseDuration(args[2])
		return func(l *lab.Lab) error { return l.AdvertisePREF64(uplink, p, d) }, err
	}
	return parseUplinkControl(op, uplink, args[1])
}

// parseUplinkControl parses the argument of a control that takes an uplink.
func parseUplinkControl(op string, uplink int, arg string) (control, error) {
	switch op {
	case "rtt":
		d, err := time.ParseDuration(arg)
		return func(l *lab.Lab) error { return l.SetRTT(uplink, d) }, err
	case "addaddr", "deladdr":
		p, err := netip.ParsePrefix(arg)
		if op == "addaddr" {
			return func(l *lab.Lab) error { return l.AddClientAddr(uplink, p) }, err
		}
		return func(l *lab.Lab) error { return l.RemoveClientAddr(uplink, p) }, err
	}
	if op == "move" {
		away, ok := map[string]bool{"away": true, "home": false}[arg]
		if !ok {
			return nil, fmt.Errorf("move %q: want away or home", arg)
		}
		return func(l *lab.Lab) error { return l.Move(uplink, away) }, nil
	}
	on, err := onOff(arg)
	set := map[string]func(*lab.Lab, int, bool) error{"blackhole": (*lab.Lab).Blackhole, "cut": (*lab.Lab).Cut,
		"cutkeep": (*lab.Lab).CutKeepNeighbors, "ingress": (*lab.Lab).IngressFilter}[op]
	return func(l *lab.Lab) error { return set(l, uplink, on) }, err
}

func onOff(s string) (bool, error) {
	switch s {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("%q: want on or off", s)
}
