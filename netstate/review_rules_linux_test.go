package netstate

import (
	"testing"
	"time"

	"github.com/jsimonetti/rtnetlink/v2"
	"golang.org/x/sys/unix"
)

// An inverted rule by user ("ip rule add not uidrange 0-999 lookup 104", a
// per-user VPN's "everyone but the system users") matches every user's
// traffic outside the range; it is not "not from all", which matches nothing.
// ruleOf reads it as the latter and leaves it out. Consequence: adding or
// removing it is no change of the host (the rule event makes a dump that
// finds the same host, and nothing is published), so the Selector's cached
// route verdicts (and any consumer) never learn that the user's traffic now
// goes by table 104.
func TestReviewRuleOfInvertedOpaque(t *testing.T) {
	u32 := func(v uint32) *uint32 { return &v }
	m := rtnetlink.RuleMessage{Family: unix.AF_INET, Action: unix.FR_ACT_TO_TBL, Flags: unix.FIB_RULE_INVERT,
		Attributes: &rtnetlink.RuleAttributes{Priority: u32(800), Table: u32(104),
			UIDRange: &rtnetlink.RuleUIDRange{Start: 0, End: 999}}}
	r, ok := ruleOf(m)
	if !ok || r.Action != RuleOther {
		t.Fatalf("not uidrange 0-999 lookup 104: %+v, %v; want it kept as RuleOther", r, ok)
	}
	d := dumpMessages{rules: []rtnetlink.RuleMessage{m}}
	if sameHost((&dumpMessages{}).snapshot(time.Now()), d.snapshot(time.Now())) {
		t.Error("not uidrange 0-999 lookup 104 added: the same host")
	}
}
