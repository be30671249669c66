package lab

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// A framePort is one side of a relay: a packet socket bound to an interface, or
// a fake in tests. readFrame and writeFrame move one whole frame; readFrame
// also says when the frame arrived (zero: now). After Close, readFrame fails
// with an error that is os.ErrClosed or net.ErrClosed.
type framePort interface {
	readFrame(b []byte) (int, time.Time, error)
	writeFrame(b []byte) error
	Close() error
}

// vnetHdrLen is the size of the virtio_net_hdr that PACKET_VNET_HDR puts in
// front of every frame: it carries the GSO and checksum-offload state, so that a
// 64 KiB TCP segment crosses the relay whole and is segmented (or not) further on
// as if the relay were a wire.
const vnetHdrLen = 10

// Relay limits: the largest frame read (a GSO frame is at most 64 KiB plus
// headers), and how much one direction may hold before it drops, like a full
// queue on a real link.
const (
	maxFrame     = 1 << 17
	queueFrames  = 8192
	queueBytes   = 32 << 20
	etherTypeOff = 12
)

// delayLine gives each frame of one direction its departure time: its arrival
// plus the one-way delay, but never before the frame ahead of it, so frames are
// never reordered, also when the delay shrinks. Only the direction's reader
// calls depart; the delay may be changed from anywhere.
type delayLine struct {
	oneWay atomic.Int64 // nanoseconds; zero or negative: no delay
	last   time.Time    // departure of the previous frame
}

func (d *delayLine) depart(arrival time.Time) time.Time {
	t := arrival.Add(time.Duration(d.oneWay.Load()))
	if t.Before(d.last) {
		t = d.last
	}
	d.last = t
	return t
}

// immediate reports whether an Ethernet frame is neighbour resolution (ARP, or
// ICMPv6 router/neighbour solicitation, advertisement or redirect), which the
// relay passes at once: a delayed ARP or ND would add a round trip to the first
// connect and make the set delay inaccurate.
func immediate(eth []byte) bool {
	if len(eth) < etherTypeOff+2 {
		return false
	}
	switch binary.BigEndian.Uint16(eth[etherTypeOff:]) {
	case 0x0806: // ARP
		return true
	case 0x86dd: // IPv6: next header ICMPv6, type 133..137
		const ip6 = etherTypeOff + 2
		if len(eth) < ip6+41 || eth[ip6+6] != 58 {
			return false
		}
		t := eth[ip6+40]
		return t >= 133 && t <= 137
	}
	return false
}

type delayedFrame struct {
	b   []byte
	due time.Time
}

// relay joins two ports like a wire that holds every frame for a one-way delay
// in each direction. It owns four goroutines (a reader and a writer per
// direction), which Close stops and waits for.
type relay struct {
	log    *zap.Logger
	ports  [2]framePort
	hdr    int // bytes in front of the Ethernet header (the vnet header)
	lines  [2]delayLine
	queued atomic.Int64 // bytes held, both directions
	// fine, if set, sleeps precisely for the last fineWindow before a frame is
	// due: the runtime's timers may fire up to a millisecond late.
	fine func(time.Duration)
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// fineWindow is how long before a frame is due the relay stops waiting on a
// runtime timer and sleeps precisely (relay.fine).
const fineWindow = 2 * time.Millisecond

// newRelay starts relaying between a and b with the given one-way delay; fine
// is the precise sleep, or nil.
func newRelay(a, b framePort, hdr int, oneWay time.Duration, fine func(time.Duration), log *zap.Logger) *relay {
	r := &relay{log: log, ports: [2]framePort{a, b}, hdr: hdr, fine: fine, done: make(chan struct{})}
	r.setOneWay(oneWay)
	for dir := range 2 {
		q := make(chan delayedFrame, queueFrames)
		from, to := r.ports[dir], r.ports[1-dir]
		r.wg.Add(2)
		go r.read(from, to, &r.lines[dir], q)
		go r.write(to, q)
	}
	return r
}

// setOneWay sets the delay of both directions; frames already held keep theirs.
func (r *relay) setOneWay(d time.Duration) {
	d = max(d, 0)
	r.lines[0].oneWay.Store(int64(d))
	r.lines[1].oneWay.Store(int64(d))
}

func (r *relay) oneWay() time.Duration { return time.Duration(r.lines[0].oneWay.Load()) }

func (r *relay) read(from, to framePort, line *delayLine, q chan<- delayedFrame) {
	defer r.wg.Done()
	buf := make([]byte, maxFrame)
	for {
		n, arrival, err := from.readFrame(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) || errors.Is(err, net.ErrClosed) || r.stopped() {
				return
			}
			// ENETDOWN while a link is cut; the socket works again when it is up.
			r.log.Debug("relay read", zap.Error(err))
			continue
		}
		if arrival.IsZero() {
			arrival = time.Now()
		}
		f := buf[:n]
		if n > r.hdr && immediate(f[r.hdr:]) {
			_ = to.writeFrame(f) // lost like on a wire if the far side is down
			continue
		}
		if r.queued.Add(int64(n)) > queueBytes {
			r.queued.Add(-int64(n))
			continue
		}
		fr := delayedFrame{b: append([]byte(nil), f...), due: line.depart(arrival)}
		select {
		case q <- fr:
		default:
			r.queued.Add(-int64(n))
		}
	}
}

func (r *relay) write(to framePort, q <-chan delayedFrame) {
	defer r.wg.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		var fr delayedFrame
		select {
		case <-r.done:
			return
		case fr = <-q:
		}
		if !r.waitUntil(t, fr.due) {
			return
		}
		r.queued.Add(-int64(len(fr.b)))
		_ = to.writeFrame(fr.b) // lost like on a wire if the far side is down
	}
}

// waitUntil waits until due on t, then with fine for the last fineWindow. It
// returns false when the relay stops first.
func (r *relay) waitUntil(t *time.Timer, due time.Time) bool {
	d := time.Until(due)
	if r.fine != nil {
		d -= fineWindow
	}
	if d > 0 {
		t.Reset(d)
		select {
		case <-r.done:
			return false
		case <-t.C:
		}
	}
	if r.fine != nil {
		if rest := time.Until(due); rest > 0 {
			r.fine(rest)
		}
	}
	return true
}

func (r *relay) stopped() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// Close stops the relay, closes both ports and waits for its goroutines.
func (r *relay) Close() error {
	var err error
	r.once.Do(func() {
		close(r.done)
		err = errors.Join(r.ports[0].Close(), r.ports[1].Close())
		r.wg.Wait()
	})
	return err
}
