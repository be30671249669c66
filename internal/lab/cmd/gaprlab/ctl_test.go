package main

import "testing"

func TestParseControl(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"restore"}, true},
		{[]string{"restore", "now"}, false},
		{[]string{"policy", "off"}, true},
		{[]string{"nat44", "on"}, true},
		{[]string{"nptv6", "maybe"}, false},
		{[]string{"families", "v6"}, true},
		{[]string{"families", "v5"}, false},
		{[]string{"rtt", "1", "35ms"}, true},
		{[]string{"rtt", "1", "fast"}, false},
		{[]string{"rtt", "2", "35ms"}, false},
		{[]string{"rtt", "1"}, false},
		{[]string{"blackhole", "0", "on"}, true},
		{[]string{"cut", "1", "off"}, true},
		{[]string{"cutkeep", "0", "on"}, true},
		{[]string{"move", "0", "away"}, true},
		{[]string{"move", "0", "home"}, true},
		{[]string{"move", "0", "on"}, false},
		{[]string{"ingress", "x", "off"}, false},
		{[]string{"addaddr", "0", "2001:db8:a:1::7/64"}, true},
		{[]string{"deladdr", "0", "2001:db8:a:1::7"}, false},
		{[]string{"nat64", "on"}, true},
		{[]string{"dns64", "off"}, true},
		{[]string{"pref64", "1", "2001:db8:6464::/96", "30m"}, true},
		{[]string{"pref64", "1", "2001:db8:6464::/96"}, false},
		{[]string{"pref64", "1", "2001:db8:6464::", "30m"}, false},
		{[]string{"pref64", "1", "2001:db8:6464::/96", "long"}, false},
		{[]string{"reboot"}, false},
	} {
		c, err := parseControl(tc.args[0], tc.args[1:])
		if (err == nil) != tc.ok || (tc.ok && c == nil) {
			t.Errorf("parseControl(%q) = %v; want ok %v", tc.args, err, tc.ok)
		}
	}
}
