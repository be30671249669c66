package netstate

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// eventGroups are the rtnetlink multicast groups a Monitor follows.
var eventGroups = [...]uint32{
	unix.RTNLGRP_LINK,
	unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
	unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE,
	unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE,
	unix.RTNLGRP_NEIGH,      // only the default routers' entries count (see dedup)
	unix.RTNLGRP_ND_USEROPT, // RA options for user space: PREF64 (see raOptions)
}

// eventReadBuffer is the receive buffer of the event socket: large enough for a
// burst of route changes; an overrun (ENOBUFS) causes a full rebuild anyway.
const eventReadBuffer = 1 << 20

// linuxBackend reads the host through rtnetlink: one conn for dumps, one for the
// change groups, one for route queries (so RouteFor never waits behind a dump).
type linuxBackend struct {
	log    *zap.Logger
	cfg    config
	dumpc  *netlink.Conn
	eventc *netlink.Conn
	queryc *netlink.Conn
	closed atomic.Bool
	dedup  dedup     // used by read only
	ra     raOptions // the RAs' PREF64 options: fed by read, read by dump

	routers    atomic.Pointer[routerSet] // the default routers of the last dump, for dedup
	routerList []routerKey               // the same, as dump last saw them; used by dump only
	refused    refusedDumps              // the optional dumps the kernel refused; used by dump only

	events routeEvents // the route events since the last rebuild started: fed by read, taken by update
	index  routeIndex  // what the last dump tells route events are applied with; used by dump and update only
}

// newBackend returns the rtnetlink backend, or, when rtnetlink is refused (and
// no other namespace was asked for: the fallback can only read its own), the
// fallback that reads the host without it (see newFallback).
func newBackend(cfg config) (backend, error) {
	b := &linuxBackend{log: cfg.log, cfg: cfg}
	b.ra.seed(cfg.pref64, time.Now())
	for _, c := range []**netlink.Conn{&b.dumpc, &b.eventc, &b.queryc} {
		conn, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: cfg.netns})
		if err != nil {
			b.close()
			err = fmt.Errorf("netstate: dialing rtnetlink: %w", err)
			if cfg.netns != 0 {
				return nil, err
			}
			return newFallback(cfg, err), nil
		}
		*c = conn
	}
	return b, nil
}

// fallback returns what reads the host when rtnetlink opens but cannot dump
// it (a sandbox such as gVisor that answers some requests only, or a seccomp
// filter on sendmsg): newFallback's, as when it does not open. It is nil for
// another namespace, which only rtnetlink can read.
func (b *linuxBackend) fallback(why error) backend {
	if b.cfg.netns != 0 {
		return nil
	}
	return newFallback(b.cfg, why)
}

func (b *linuxBackend) close() error {
	b.closed.Store(true)
	b.ra.close()
	var errs []error
	for _, c := range []*netlink.Conn{b.dumpc, b.eventc, b.queryc} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// dumpRequests are the dumps a snapshot is built from: links first, so addresses
// and routes can be named; rules and nexthop objects before routes, so the
// tables and the routes' next hops are known. A snapshot can do without the
// optional ones, those with a lost text, which says what it then lacks (a
// kernel without CONFIG_FIB_RULES has no rules; gVisor serves neither rules
// nor neighbours). A kernel before 5.3 refuses the nexthop objects' dump and
// has none: it loses nothing.
var dumpRequests = [...]struct {
	typ  netlink.HeaderType
	size int // of the request's fixed header (ifinfomsg, ifaddrmsg, fib_rule_hdr, nhmsg, rtmsg, ndmsg)
	name string
	lost string // what a snapshot lacks without this dump; empty: it cannot do without
	// quiet: the kernels that refuse this dump lack what it shows, so a
	// refusal is only logged at debug level.
	quiet bool
}{
	{unix.RTM_GETLINK, unix.SizeofIfInfomsg, "links", "", false},
	{unix.RTM_GETADDR, unix.SizeofIfAddrmsg, "addresses", "", false},
	{unix.RTM_GETRULE, unix.SizeofRtMsg, "rules", "policy routing: every destination is looked up in the main table", false},
	{unix.RTM_GETNEXTHOP, unix.SizeofNhmsg, "nexthop objects", "the next hops of routes that use a nexthop object (nexthop_compat_mode 0)", true},
	{unix.RTM_GETROUTE, unix.SizeofRtMsg, "routes", "", false},
	{unix.RTM_GETNEIGH, unix.SizeofNdMsg, "neighbours", "the default routers' neighbour states", false},
}

// refusedDumps marks the optional dumps (by their index in dumpRequests) that
// the kernel refused: they are not asked for again.
type refusedDumps [len(dumpRequests)]bool

// refusal reports whether err is the kernel's (or a sandbox's) way of saying
// it does not serve a request at all, rather than that it failed this time.
func refusal(err error) bool {
	for _, e := range [...]unix.Errno{unix.EOPNOTSUPP, unix.EINVAL, unix.EPERM, unix.EACCES, unix.ENOSYS, unix.EPROTONOSUPPORT, unix.EAFNOSUPPORT} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// dumpAll runs the dumps and returns their messages. interrupted reports that
// the kernel flagged a dump as inconsistent (NLM_F_DUMP_INTR). An optional
// dump that the kernel refuses is marked in refused and skipped from then on.
func dumpAll(c *netlink.Conn, refused *refusedDumps) (msgs []netlink.Message, interrupted bool, err error) {
	for i, r := range dumpRequests {
		if refused[i] {
			continue
		}
		got, err := c.Execute(netlink.Message{
			Header: netlink.Header{Type: r.typ, Flags: netlink.Request | netlink.Dump},
			Data:   make([]byte, r.size),
		})
		if err != nil && r.lost != "" && refusal(err) {
			refused[i] = true
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("netstate: dump of %s: %w", r.name, err)
		}
		for _, m := range got {
			interrupted = interrupted || m.Header.Flags&netlink.DumpInterrupted != 0
		}
		msgs = append(msgs, got...)
	}
	return msgs, interrupted, nil
}

// pref64s returns the NAT64 prefixes of s, each RA one with its expiry now.
func (b *linuxBackend) pref64s(s *Snapshot) []PREF64 { return b.ra.refreshed(s.PREF64s) }

// update returns the host as it is now, cur being the current snapshot: cur
// with the route events since the last rebuild applied when they are all that
// changed and the model allows (see routeevents_linux.go), else a dump.
func (b *linuxBackend) update(cur *Snapshot) (*Snapshot, bool, error) {
	if msgs, full := b.events.take(); !full {
		if s, ok := b.applyRoutes(cur, msgs, time.Now()); ok {
			return s, false, nil
		}
	}
	return b.dump()
}

// dump reads the whole host. The route events received before it starts are
// forgotten (it shows them); a failed or inconsistent dump makes the next
// rebuild dump again.
func (b *linuxBackend) dump() (*Snapshot, bool, error) {
	b.events.take()
	s, resync, err := b.dumpOnce()
	if err != nil || resync {
		b.events.other()
	}
	return s, resync, err
}

func (b *linuxBackend) dumpOnce() (*Snapshot, bool, error) {
	before := b.refused
	msgs, interrupted, err := dumpAll(b.dumpc, &b.refused)
	for i, r := range dumpRequests {
		if b.refused[i] && !before[i] {
			level := zap.WarnLevel
			if r.quiet {
				level = zap.DebugLevel
			}
			b.log.Log(level, "rtnetlink refuses to dump the "+r.name+"; going on without them",
				zap.String("lost", r.lost))
		}
	}
	if err != nil {
		return nil, false, err
	}
	s, index, err := buildSnapshot(msgs, time.Now())
	if err != nil {
		b.log.Debug("skipped undecodable netlink messages", zap.Error(err))
	}
	b.index = index
	s.PREF64s = b.ra.current(s, time.Now())
	return s, b.watchRouters(s) || interrupted, nil
}

// watchRouters makes the event reader follow the neighbour entries of s's default
// routers. It reports whether they changed: an event of a new router may then
// have been dropped before this, so another dump should follow.
func (b *linuxBackend) watchRouters(s *Snapshot) bool {
	list := s.routers()
	first := b.routers.Load() == nil
	if !first && slices.Equal(list, b.routerList) {
		return false
	}
	set := newRouterSet(s)
	b.routers.Store(&set)
	b.routerList = list
	return !first
}

func (b *linuxBackend) listen() error {
	b.dedup.routers = &b.routers
	for _, g := range eventGroups {
		if err := b.eventc.JoinGroup(g); err != nil {
			return fmt.Errorf("netstate: joining rtnetlink group %d: %w", g, err)
		}
	}
	// Deleting a nexthop object removes the IPv4 routes using it without a
	// RTM_DELROUTE: only its own event tells. Kernels before 5.3 have no such
	// group, nor such objects.
	if err := b.eventc.JoinGroup(unix.RTNLGRP_NEXTHOP); err != nil {
		b.log.Debug("could not follow nexthop objects", zap.Error(err))
	}
	if err := b.eventc.SetReadBuffer(eventReadBuffer); err != nil {
		b.log.Debug("could not enlarge the event socket buffer", zap.Error(err))
	}
	return nil
}

func (b *linuxBackend) read(notify func()) error {
	b.ra.watch(notify)
	b.events.setLive(true)
	defer b.events.setLive(false)
	for {
		msgs, err := b.eventc.Receive()
		switch {
		case b.closed.Load():
			return nil
		case errors.Is(err, unix.ENOBUFS):
			// Events were lost: forget what was seen and rebuild from a dump.
			b.log.Debug("netlink event overrun; resyncing")
			b.dedup.reset()
			b.events.other()
			notify()
			continue
		case err != nil:
			return err
		}
		if b.receive(msgs, notify) {
			notify()
		}
	}
}

// receive handles a batch of change events; it reports whether one of them
// may change the snapshot. Route and nexthop object events are kept for the
// rebuild to apply; any other makes it dump the host.
func (b *linuxBackend) receive(msgs []netlink.Message, notify func()) (changed bool) {
	for _, m := range msgs {
		switch {
		case m.Header.Type == unix.RTM_NEWNDUSEROPT:
			changed = b.ra.handle(m.Data, time.Now(), notify) || changed
		case !b.dedup.relevant(m):
		case m.Header.Type == unix.RTM_NEWROUTE || m.Header.Type == unix.RTM_DELROUTE,
			m.Header.Type == unix.RTM_NEWNEXTHOP || m.Header.Type == unix.RTM_DELNEXTHOP:
			b.events.add(m)
			changed = true
		default:
			b.events.other()
			changed = true
		}
	}
	return changed
}
