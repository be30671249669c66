package lab

import (
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
)

// fakePort is a framePort on channels: frames sent to in are read by the relay,
// frames the relay writes arrive on out.
type fakePort struct {
	in     chan []byte
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func newFakePort() *fakePort {
	return &fakePort{in: make(chan []byte), out: make(chan []byte, 64), closed: make(chan struct{})}
}

func (p *fakePort) readFrame(b []byte) (int, time.Time, error) {
	select {
	case f := <-p.in:
		return copy(b, f), time.Time{}, nil
	case <-p.closed:
		return 0, time.Time{}, net.ErrClosed
	}
}

func (p *fakePort) writeFrame(b []byte) error {
	select {
	case p.out <- append([]byte(nil), b...):
		return nil
	case <-p.closed:
		return net.ErrClosed
	}
}

func (p *fakePort) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// ethFrame builds an Ethernet frame of the given type around payload.
func ethFrame(etherType uint16, payload ...byte) []byte {
	f := make([]byte, 14, 14+len(payload))
	binary.BigEndian.PutUint16(f[12:], etherType)
	return append(f, payload...)
}

// icmp6Frame is an IPv6 frame carrying an ICMPv6 message of type typ.
func icmp6Frame(typ byte) []byte {
	ip := make([]byte, 40+8)
	ip[0] = 0x60
	ip[6] = 58
	ip[40] = typ
	return ethFrame(0x86dd, ip...)
}

func TestImmediate(t *testing.T) {
	tcp6 := icmp6Frame(0)
	tcp6[14+6] = 6
	for _, tc := range []struct {
		name  string
		frame []byte
		want  bool
	}{
		{"arp", ethFrame(0x0806, make([]byte, 28)...), true},
		{"router-solicitation", icmp6Frame(133), true},
		{"neighbour-solicitation", icmp6Frame(135), true},
		{"neighbour-advertisement", icmp6Frame(136), true},
		{"redirect", icmp6Frame(137), true},
		{"echo-request", icmp6Frame(128), false},
		{"mld", icmp6Frame(143), false},
		{"tcp6", tcp6, false},
		{"ipv4", ethFrame(0x0800, make([]byte, 40)...), false},
		{"short", []byte{1, 2, 3}, false},
		{"truncated-ipv6", ethFrame(0x86dd, 0x60), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := immediate(tc.frame); got != tc.want {
				t.Errorf("immediate = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestDelayLine(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	var d delayLine
	for _, step := range []struct {
		oneWay  time.Duration
		arrival time.Duration // after t0
		want    time.Duration // departure after t0
	}{
		{10 * ms, 0, 10 * ms},
		{10 * ms, 1 * ms, 11 * ms},
		{2 * ms, 2 * ms, 11 * ms}, // the delay shrank: never before the frame ahead
		{2 * ms, 10 * ms, 12 * ms},
		{0, 20 * ms, 20 * ms},
		{30 * ms, 20 * ms, 50 * ms},
	} {
		d.oneWay.Store(int64(step.oneWay))
		if got := d.depart(t0.Add(step.arrival)).Sub(t0); got != step.want {
			t.Errorf("delay %v, arrival +%v: departs +%v; want +%v", step.oneWay, step.arrival, got, step.want)
		}
	}
}

// relayed sends frame into from and returns how long it took to come out of to.
func relayed(t *testing.T, from, to *fakePort, frame []byte) time.Duration {
	t.Helper()
	start := time.Now()
	from.in <- frame
	got := <-to.out
	if string(got) != string(frame) {
		t.Fatalf("relayed %x; want %x", got, frame)
	}
	return time.Since(start)
}

func TestRelayDelays(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newFakePort(), newFakePort()
		r := newRelay(a, b, 0, 10*time.Millisecond, nil, zap.NewNop())
		defer r.Close()
		data := ethFrame(0x0800, 1, 2, 3)
		if d := relayed(t, a, b, data); d != 10*time.Millisecond {
			t.Errorf("a to b took %v; want 10ms", d)
		}
		if d := relayed(t, b, a, data); d != 10*time.Millisecond {
			t.Errorf("b to a took %v; want 10ms", d)
		}
		if d := relayed(t, a, b, icmp6Frame(135)); d != 0 {
			t.Errorf("neighbour solicitation took %v; want no delay", d)
		}
		r.setOneWay(30 * time.Millisecond)
		if r.oneWay() != 30*time.Millisecond {
			t.Errorf("oneWay = %v after setOneWay(30ms)", r.oneWay())
		}
		if d := relayed(t, a, b, data); d != 30*time.Millisecond {
			t.Errorf("after setOneWay(30ms): took %v", d)
		}
		r.setOneWay(-time.Second)
		if d := relayed(t, a, b, data); d != 0 {
			t.Errorf("after a negative delay: took %v; want none", d)
		}
	})
}

func TestRelayKeepsOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newFakePort(), newFakePort()
		r := newRelay(a, b, 0, 20*time.Millisecond, nil, zap.NewNop())
		defer r.Close()
		start := time.Now()
		a.in <- ethFrame(0x0800, 1)
		time.Sleep(time.Millisecond)
		r.setOneWay(time.Millisecond)
		a.in <- ethFrame(0x0800, 2)
		for want := byte(1); want <= 2; want++ {
			f := <-b.out
			if f[14] != want || time.Since(start) != 20*time.Millisecond {
				t.Errorf("frame %d out at +%v; want frame %d at +20ms", f[14], time.Since(start), want)
			}
		}
		// Neighbour discovery overtakes held frames.
		r.setOneWay(50 * time.Millisecond)
		a.in <- ethFrame(0x0800, 3)
		a.in <- ethFrame(0x0806, 4)
		if f := <-b.out; f[14] != 4 {
			t.Errorf("first out: frame %d; want the ARP frame 4", f[14])
		}
		if f := <-b.out; f[14] != 3 {
			t.Errorf("second out: frame %d; want 3", f[14])
		}
	})
}

func TestRelayVnetHeader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newFakePort(), newFakePort()
		r := newRelay(a, b, vnetHdrLen, 5*time.Millisecond, nil, zap.NewNop())
		defer r.Close()
		hdr := make([]byte, vnetHdrLen)
		if d := relayed(t, a, b, append(hdr, ethFrame(0x0806, 1)...)); d != 0 {
			t.Errorf("ARP behind a vnet header took %v; want no delay", d)
		}
		if d := relayed(t, a, b, append(hdr, ethFrame(0x0800, 1)...)); d != 5*time.Millisecond {
			t.Errorf("IPv4 behind a vnet header took %v; want 5ms", d)
		}
	})
}

func TestRelayFineSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newFakePort(), newFakePort()
		var fine []time.Duration
		r := newRelay(a, b, 0, 10*time.Millisecond, func(d time.Duration) {
			fine = append(fine, d)
			time.Sleep(d)
		}, zap.NewNop())
		defer r.Close()
		if d := relayed(t, a, b, ethFrame(0x0800)); d != 10*time.Millisecond {
			t.Errorf("took %v; want 10ms", d)
		}
		if len(fine) != 1 || fine[0] != fineWindow {
			t.Errorf("fine sleeps %v; want one of %v", fine, fineWindow)
		}
	})
}

func TestRelayCloseWithFramesHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := newFakePort(), newFakePort()
		r := newRelay(a, b, 0, time.Hour, nil, zap.NewNop())
		a.in <- ethFrame(0x0800, 1)
		b.in <- ethFrame(0x0800, 2)
		synctest.Wait()
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if len(a.out)+len(b.out) != 0 {
			t.Error("held frames were sent after Close")
		}
	})
}

func BenchmarkRelayFrame(b *testing.B) {
	pa, pb := newFakePort(), newFakePort()
	r := newRelay(pa, pb, 0, 0, nil, zap.NewNop())
	defer r.Close()
	frame := ethFrame(0x0800, make([]byte, 1500)...)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		pa.in <- frame
		<-pb.out
	}
}
