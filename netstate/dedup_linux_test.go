package netstate

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/jsimonetti/rtnetlink/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// firstMessage returns the first recorded message of type typ that ok accepts.
func firstMessage(t *testing.T, typ netlink.HeaderType, ok func(netlink.Message) bool) netlink.Message {
	t.Helper()
	for _, m := range readMultihomed(t) {
		if m.Header.Type == typ && ok(m) {
			return m
		}
	}
	t.Fatalf("no message of type %d in the testdata", typ)
	return netlink.Message{}
}

func routeInTable(table uint32) func(netlink.Message) bool {
	return func(m netlink.Message) bool {
		var r rtnetlink.RouteMessage
		return r.UnmarshalBinary(m.Data) == nil && (r.Attributes.Table == table || uint32(r.Table) == table)
	}
}

func all(netlink.Message) bool { return true }

// withType returns a copy of m with another message type.
func withType(m netlink.Message, typ netlink.HeaderType) netlink.Message {
	m.Header.Type = typ
	return m
}

// downOf returns link message m with the link down (IFF_UP cleared).
func downOf(m netlink.Message) netlink.Message {
	m.Data = slices.Clone(m.Data)
	flags := binary.NativeEndian.Uint32(m.Data[8:12])
	binary.NativeEndian.PutUint32(m.Data[8:12], flags&^unix.IFF_UP)
	return m
}

func TestDedup(t *testing.T) {
	link := firstMessage(t, unix.RTM_NEWLINK, all)
	linkDown := downOf(link)
	addr := firstMessage(t, unix.RTM_NEWADDR, all)
	mainRoute := firstMessage(t, unix.RTM_NEWROUTE, routeInTable(mainTable))
	localRoute := firstMessage(t, unix.RTM_NEWROUTE, routeInTable(localTable))
	rule := firstMessage(t, unix.RTM_NEWRULE, all)

	steps := []struct {
		name string
		m    netlink.Message
		want bool
	}{
		{"new link", link, true},
		{"same link again", link, false},
		{"link flags changed", linkDown, true},
		{"link back", link, true},
		{"new address", addr, true},
		{"same address again", addr, false},
		{"address deleted", withType(addr, unix.RTM_DELADDR), true},
		{"address back", addr, true},
		{"main route", mainRoute, true},
		{"main route again", mainRoute, false},
		{"local table route", localRoute, false},
		{"rule", rule, true},
		{"rule again", rule, false},
		{"rule deleted", withType(rule, unix.RTM_DELRULE), true},
		{"neighbour message", withType(addr, unix.RTM_NEWNEIGH), false},
		{"undecodable address", netlink.Message{Header: netlink.Header{Type: unix.RTM_NEWADDR}, Data: []byte{1}}, true},
	}
	var d dedup
	for _, s := range steps {
		if got := d.relevant(s.m); got != s.want {
			t.Errorf("%s: relevant = %v, want %v", s.name, got, s.want)
		}
	}
	d.reset()
	if !d.relevant(link) {
		t.Error("after reset, a known link is not relevant")
	}
}

func TestDedupBounded(t *testing.T) {
	var d dedup
	rule := firstMessage(t, unix.RTM_NEWRULE, all)
	for i := range maxDedup + 10 {
		m := rule
		m.Data = binary.NativeEndian.AppendUint32(slices.Clone(rule.Data), uint32(i))
		d.relevant(m)
	}
	if len(d.last) > maxDedup {
		t.Errorf("dedup holds %d objects, bound %d", len(d.last), maxDedup)
	}
}
