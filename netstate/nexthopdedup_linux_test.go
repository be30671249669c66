package netstate

import (
	"net/netip"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// TestDedupNexthopReplacedBack: a nexthop object is identified by its id, its
// next hops being its state. With nexthop_compat_mode 0 its event is the only
// one to tell that the routes using it changed ("ip nexthop replace" sends no
// route event), so an object replaced back to what it was before, or added
// again after its deletion, is a change, not a repeat to drop.
func TestDedupNexthopReplacedBack(t *testing.T) {
	obj := func(typ netlink.HeaderType, gw string) netlink.Message {
		return netlink.Message{Header: netlink.Header{Type: typ}, Data: nhMsg(unix.AF_INET,
			nla{unix.NHA_ID, u32(7)}, nla{unix.NHA_OIF, u32(3)}, nla{unix.NHA_GATEWAY, netip.MustParseAddr(gw).AsSlice()})}
	}
	viaX, viaY := obj(unix.RTM_NEWNEXTHOP, "192.0.2.1"), obj(unix.RTM_NEWNEXTHOP, "192.0.2.2")
	steps := []struct {
		name string
		m    netlink.Message
		want bool
	}{
		{"object 7 via X", viaX, true},
		{"the same again", viaX, false},
		{"replaced: via Y", viaY, true},
		{"replaced back: via X", viaX, true},
		{"deleted", obj(unix.RTM_DELNEXTHOP, "192.0.2.1"), true},
		{"added again via X", viaX, true},
	}
	var d dedup
	for _, s := range steps {
		if got := d.relevant(s.m); got != s.want {
			t.Errorf("%s: relevant = %v, want %v", s.name, got, s.want)
		}
	}
}
