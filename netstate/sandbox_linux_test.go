package netstate

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"
)

// sandboxNetlink is an rtnetlink conn as a sandbox serves it: it answers the
// dumps with the recorded multihomed host's messages and refuses the request
// types in refuse with their errno, as gVisor refuses RTM_GETRULE and
// RTM_GETNEIGH with EOPNOTSUPP (and a seccomp filter on sendmsg refuses
// everything). It counts the dumps asked for, by request type.
type sandboxNetlink struct {
	refuse map[netlink.HeaderType]unix.Errno
	// extra are messages the dumps serve after the recorded host's.
	extra []netlink.Message
	// events, when set, are the change events the event conn receives, one
	// batch each; closing it makes its Receive fail.
	events chan sandboxBatch
	mu     sync.Mutex
	asked  map[netlink.HeaderType]int
}

func (sn *sandboxNetlink) dial(t testing.TB) *netlink.Conn {
	recorded := readMultihomed(t)
	return nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
		if len(reqs) == 0 { // a Receive with no request: no change events here
			return nil, errors.New("no events")
		}
		req := reqs[0]
		sn.mu.Lock()
		if sn.asked == nil {
			sn.asked = map[netlink.HeaderType]int{}
		}
		sn.asked[req.Header.Type]++
		sn.mu.Unlock()
		if errno, ok := sn.refuse[req.Header.Type]; ok {
			e := req
			e.Header.Flags = 0 // the kernel's NLMSG_ERROR: the errno, then the request
			return nltest.Error(int(errno), []netlink.Message{e})
		}
		var out []netlink.Message
		for _, m := range append(recorded, sn.extra...) {
			if m.Header.Type == req.Header.Type-2 { // RTM_NEWLINK answers RTM_GETLINK, and so on
				m.Header.Sequence, m.Header.PID = req.Header.Sequence, req.Header.PID
				out = append(out, m)
			}
		}
		out = append(out, netlink.Message{Header: netlink.Header{Type: netlink.Done, Sequence: req.Header.Sequence, PID: req.Header.PID}, Data: make([]byte, 4)})
		return nltest.Multipart(out)
	})
}

func (sn *sandboxNetlink) times(typ netlink.HeaderType) int {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	return sn.asked[typ]
}

// dumps returns how many dumps were asked for, of any kind.
func (sn *sandboxNetlink) dumps() int {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	n := 0
	for _, c := range sn.asked {
		n += c
	}
	return n
}

// send hands a batch of change events to the reader of the event conn and
// returns once it has handled them (it asks for the next batch). The
// messages go as the kernel sends events, not as parts of a dump: a message
// taken from a recorded dump carries NLM_F_MULTI, and netlink.Conn.Receive
// would read on (the next batch) before returning it.
func (sn *sandboxNetlink) send(msgs ...netlink.Message) {
	msgs = slices.Clone(msgs)
	for i := range msgs {
		msgs[i].Header.Flags &^= netlink.Multi
	}
	sn.events <- sandboxBatch{msgs: msgs}
	sn.events <- sandboxBatch{}
}

// fail makes the reader's next Receive fail with err, and returns once it has
// handled it.
func (sn *sandboxNetlink) fail(err error) {
	sn.events <- sandboxBatch{err: err}
	sn.events <- sandboxBatch{}
}

// sandboxBatch is what one Receive of change events returns.
type sandboxBatch struct {
	msgs []netlink.Message
	err  error
}

// sandboxBackend is the rtnetlink backend over sn's conns, for the host's own
// namespace (netns 0) or another.
func sandboxBackend(t testing.TB, sn *sandboxNetlink, netns int) *linuxBackend {
	cfg := newConfig(nil)
	cfg.netns = netns
	eventc := sn.dial(t)
	if sn.events != nil {
		eventc = netlink.NewConn(eventSocket(sn.events), 1)
	}
	return &linuxBackend{log: cfg.log, cfg: cfg, dumpc: sn.dial(t), eventc: eventc, queryc: sn.dial(t)}
}

// eventSocket is the socket of an event conn: it joins any group, and each
// Receive returns the next batch sent on it, or fails once it is closed.
type eventSocket chan sandboxBatch

func (e eventSocket) Receive() ([]netlink.Message, error) {
	if batch, ok := <-e; ok {
		return batch.msgs, batch.err
	}
	return nil, errors.New("no more events")
}

func (eventSocket) Send(netlink.Message) error { return errors.New("an event conn sends nothing") }
func (eventSocket) SendMessages([]netlink.Message) error {
	return errors.New("an event conn sends nothing")
}
func (eventSocket) Close() error            { return nil }
func (eventSocket) JoinGroup(uint32) error  { return nil }
func (eventSocket) LeaveGroup(uint32) error { return nil }

// TestSandboxWithoutRulesAndNeighbours: where rtnetlink serves links,
// addresses and routes but refuses the rules' and neighbours' dumps (gVisor:
// Cloud Run's first generation, GKE Sandbox, runsc; a kernel without policy
// routing refuses the rules), New builds snapshots without them, and asks for
// them once only.
func TestSandboxWithoutRulesAndNeighbours(t *testing.T) {
	sn := &sandboxNetlink{refuse: map[netlink.HeaderType]unix.Errno{
		unix.RTM_GETRULE: unix.EOPNOTSUPP, unix.RTM_GETNEIGH: unix.EOPNOTSUPP}}
	m, err := New(withBackend(sandboxBackend(t, sn, 0)))
	if err != nil {
		t.Fatalf("New over an rtnetlink that refuses the rules and neighbours: %v", err)
	}
	defer m.Close()
	s := m.Snapshot()
	if _, ok := m.be.(*linuxBackend); !ok {
		t.Fatalf("backend %T, want rtnetlink's", m.be)
	}
	if len(s.Links) != 4 || len(s.Addrs) == 0 || len(s.Routes) == 0 || len(s.Rules) != 0 {
		t.Errorf("snapshot: %d links, %d addrs, %d routes, %d rules; want the recorded 4 links, addresses and routes, no rules",
			len(s.Links), len(s.Addrs), len(s.Routes), len(s.Rules))
	}
	if err := m.rebuild(); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if r, n, l := sn.times(unix.RTM_GETRULE), sn.times(unix.RTM_GETNEIGH), sn.times(unix.RTM_GETLINK); r != 1 || n != 1 || l < 2 {
		t.Errorf("after two dumps: rules asked %d times, neighbours %d, links %d; want 1, 1, at least 2", r, n, l)
	}
}

// TestSandboxRefusesEveryDump: where rtnetlink opens but every request fails
// (a seccomp filter that fails sendmsg), New reads the host as it does where
// rtnetlink does not open; for another namespace, which only rtnetlink can
// read, it fails.
func TestSandboxRefusesEveryDump(t *testing.T) {
	all := map[netlink.HeaderType]unix.Errno{}
	for _, r := range dumpRequests {
		all[r.typ] = unix.EOPNOTSUPP
	}
	m, err := New(withBackend(sandboxBackend(t, &sandboxNetlink{refuse: all}, 0)))
	if err != nil {
		t.Fatalf("New over an rtnetlink that refuses every dump: %v", err)
	}
	defer m.Close()
	if _, ok := m.be.(pollBackend); !ok {
		t.Errorf("backend %T, want the no-netlink fallback (pollBackend)", m.be)
	}
	if _, err := New(withBackend(sandboxBackend(t, &sandboxNetlink{refuse: all}, 7))); err == nil {
		t.Error("New for another namespace over a refusing rtnetlink: no error")
	}
}

// TestSandboxTransientRuleError: an optional dump that fails otherwise than by
// a refusal is the dump's failure, as any other's.
func TestSandboxTransientRuleError(t *testing.T) {
	sn := &sandboxNetlink{refuse: map[netlink.HeaderType]unix.Errno{unix.RTM_GETRULE: unix.EBUSY}}
	b := sandboxBackend(t, sn, 0)
	defer b.close()
	if _, _, err := b.dump(); !errors.Is(err, unix.EBUSY) {
		t.Fatalf("dump: %v, want EBUSY", err)
	}
	delete(sn.refuse, unix.RTM_GETRULE)
	s, _, err := b.dump()
	if err != nil || len(s.Rules) == 0 {
		t.Fatalf("next dump: %d rules, %v; want the recorded rules", len(s.Rules), err)
	}
}

// liveSandbox returns a backend over sn, closed when the test ends, and its
// first dump, its event reader taken for running (route events are applied,
// not lost).
func liveSandbox(t testing.TB, sn *sandboxNetlink) (*linuxBackend, *Snapshot) {
	t.Helper()
	b := sandboxBackend(t, sn, 0)
	t.Cleanup(func() { b.close() })
	cur, _, err := b.dump()
	if err != nil {
		t.Fatal(err)
	}
	b.events.setLive(true)
	return b, cur
}
