package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/getapr/getapr/internal/lab"
)

// ctl parses and applies one control.
func ctl(args []string) error {
	name, rest := flags("ctl", args, nil)
	if len(rest) == 0 {
		return fmt.Errorf("which control? rtt, blackhole, cut, ingress, policy, families, nat44, nptv6, addaddr, deladdr, restore")
	}
	l, err := lab.Attach(name)
	if err != nil {
		return err
	}
	return applyControl(l, rest[0], rest[1:])
}

// applyControl runs control op with its arguments on l.
func applyControl(l *lab.Lab, op string, args []string) error {
	want := func(n int, form string) error {
		if len(args) != n {
			return fmt.Errorf("usage: gaprlab ctl %s %s", op, form)
		}
		return nil
	}
	switch op {
	case "restore":
		if err := want(0, ""); err != nil {
			return err
		}
		return l.Restore()
	case "policy", "nat44", "nptv6":
		if err := want(1, "on|off"); err != nil {
			return err
		}
		on, err := onOff(args[0])
		if err != nil {
			return err
		}
		return map[string]func(bool) error{"policy": l.PolicyRouting, "nat44": l.NAT44, "nptv6": l.NPTv6}[op](on)
	case "families":
		if err := want(1, "v4|v6|both"); err != nil {
			return err
		}
		fam := map[string][2]bool{"v4": {true, false}, "v6": {false, true}, "both": {true, true}}
		f, ok := fam[args[0]]
		if !ok {
			return fmt.Errorf("families %q: want v4, v6 or both", args[0])
		}
		return l.Families(f[0], f[1])
	}
	return uplinkControl(l, op, args)
}

// uplinkControl runs a control that takes an uplink first.
func uplinkControl(l *lab.Lab, op string, args []string) error {
	forms := map[string]string{"rtt": "UPLINK DURATION", "blackhole": "UPLINK on|off", "cut": "UPLINK on|off",
		"ingress": "UPLINK on|off", "addaddr": "UPLINK PREFIX", "deladdr": "UPLINK PREFIX"}
	form, ok := forms[op]
	if !ok {
		return fmt.Errorf("unknown control %q", op)
	}
	if len(args) != 2 {
		return fmt.Errorf("usage: gaprlab ctl %s %s", op, form)
	}
	uplink, err := strconv.Atoi(args[0])
	if err != nil {
		return fmt.Errorf("uplink %q: want 0 or 1", args[0])
	}
	switch op {
	case "rtt":
		d, err := time.ParseDuration(args[1])
		if err != nil {
			return err
		}
		return l.SetRTT(uplink, d)
	case "addaddr", "deladdr":
		p, err := netip.ParsePrefix(args[1])
		if err != nil {
			return err
		}
		if op == "addaddr" {
			return l.AddClientAddr(uplink, p)
		}
		return l.RemoveClientAddr(uplink, p)
	}
	on, err := onOff(args[1])
	if err != nil {
		return err
	}
	return map[string]func(int, bool) error{"blackhole": l.Blackhole, "cut": l.Cut, "ingress": l.IngressFilter}[op](uplink, on)
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
