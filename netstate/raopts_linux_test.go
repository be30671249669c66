package netstate

import (
	"encoding/binary"
	"net/netip"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// pref64Msg is an RTM_NEWNDUSEROPT body for an RA from router on link index
// with one PREF64 option (2001:db8:6464::/96) of the given lifetime.
func pref64Msg(index int, router netip.Addr, lifetime time.Duration) []byte {
	o := make([]byte, 16)
	o[0], o[1] = 38, 2
	binary.BigEndian.PutUint16(o[2:], uint16(lifetime/(8*time.Second))<<3)
	copy(o[4:], netip.MustParseAddr("2001:db8:6464::").AsSlice()[:12])
	return ndUserOptMsg(index, 134, router, o)
}

func TestRAOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Snapshot{Links: []Link{{Index: 3, Name: "eth1", Up: true}}}
		var notified atomic.Int32
		notify := func() { notified.Add(1) }
		var r raOptions
		defer r.close()
		router := netip.MustParseAddr("fe80::b")
		if r.handle([]byte{1, 2, 3}, time.Now(), notify) {
			t.Error("a malformed message counts")
		}
		rdnss := ndUserOptMsg(3, 134, router, append([]byte{25, 3, 0, 0, 0, 0, 0, 1}, make([]byte, 16)...))
		if r.handle(rdnss, time.Now(), notify) {
			t.Error("an RA without PREF64 counts")
		}
		if !r.handle(pref64Msg(3, router, 16*time.Second), time.Now(), notify) {
			t.Fatal("the PREF64 does not count")
		}
		got := r.current(s, time.Now())
		want := PREF64{Index: 3, Prefix: netip.MustParsePrefix("2001:db8:6464::/96"), Source: PREF64RA,
			Router: netip.MustParseAddr("fe80::b%eth1"), Expires: time.Now().Add(16 * time.Second)}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("current = %+v; want %+v", got, want)
		}
		// When the lifetime runs out, notify is called and the prefix is gone.
		time.Sleep(16*time.Second - time.Nanosecond)
		if notified.Load() != 0 {
			t.Fatal("notified before the expiry")
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if notified.Load() != 1 {
			t.Fatalf("notified %d times at the expiry; want 1", notified.Load())
		}
		if got := r.current(s, time.Now()); len(got) != 0 {
			t.Fatalf("after the expiry: %+v", got)
		}
		// A prefix of a link that is gone is forgotten.
		r.handle(pref64Msg(9, router, time.Hour), time.Now(), notify)
		if got := r.current(s, time.Now()); len(got) != 0 {
			t.Fatalf("a PREF64 of an unknown link: %+v", got)
		}
		// After close, an expiry notifies nothing.
		r.handle(pref64Msg(3, router, 8*time.Second), time.Now(), notify)
		r.close()
		time.Sleep(time.Minute)
		synctest.Wait()
		if notified.Load() != 1 {
			t.Fatalf("notified after close")
		}
	})
}

// The prefixes a previous Monitor had learned from RAs are the links' again
// until they expire (which notifies) or a newer RA replaces them; other
// sources and expired ones are ignored.
func TestRAOptionsSeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Snapshot{Links: []Link{{Index: 3, Name: "eth1", Up: true}, {Index: 4, Name: "eth2", Up: true}}}
		now := time.Now()
		seeded := PREF64{Index: 3, Prefix: netip.MustParsePrefix("64:ff9b::/96"), Source: PREF64RA,
			Router: netip.MustParseAddr("fe80::a%eth1"), Expires: now.Add(time.Minute)}
		var r raOptions
		defer r.close()
		r.seed([]PREF64{
			seeded,
			{Index: 4, Prefix: netip.MustParsePrefix("2001:db8:64::/96"), Source: PREF64Config},
			{Index: 4, Prefix: netip.MustParsePrefix("2001:db8:65::/96"), Source: PREF64RA,
				Router: netip.MustParseAddr("fe80::a%eth2"), Expires: now},
		}, now)
		if got := r.current(s, now); len(got) != 1 || got[0] != seeded {
			t.Fatalf("current = %+v; want only %+v", got, seeded)
		}
		var notified atomic.Int32
		r.watch(func() { notified.Add(1) })
		time.Sleep(time.Minute)
		synctest.Wait()
		if notified.Load() != 1 {
			t.Fatalf("notified %d times at the seeded prefix's expiry; want 1", notified.Load())
		}
		if got := r.current(s, time.Now()); len(got) != 0 {
			t.Fatalf("after the expiry: %+v", got)
		}
		// An RA heard after the seed wins over it, even with an older lifetime.
		r.seed([]PREF64{{Index: 3, Prefix: netip.MustParsePrefix("64:ff9b::/96"), Source: PREF64RA,
			Router: netip.MustParseAddr("fe80::a%eth1"), Expires: time.Now().Add(time.Hour)}}, time.Now())
		r.handle(pref64Msg(3, netip.MustParseAddr("fe80::b"), time.Minute), time.Now(), func() {})
		if got := r.current(s, time.Now()); len(got) != 1 || got[0].Prefix != netip.MustParsePrefix("2001:db8:6464::/96") {
			t.Fatalf("after an RA: %+v; want the RA's prefix", got)
		}
	})
}

// TestRAOptionsRefreshedReadsOnly checks that reading the prefixes' expiry for
// Monitor.PREF64s changes nothing: a prefix read at the moment it expires,
// before the expiry timer ran, is still notified (and so leaves the
// snapshot); and that the expiry read is the last RA's, later or earlier than
// the snapshot's.
func TestRAOptionsRefreshedReadsOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r raOptions
		defer r.close()
		now := time.Now()
		p := PREF64{Index: 2, Prefix: netip.MustParsePrefix("64:ff9b::/96"), Source: PREF64RA,
			Router: netip.MustParseAddr("fe80::1%eth0"), Expires: now.Add(300 * time.Millisecond)}
		r.seed([]PREF64{p}, now)
		notified := 0
		r.watch(func() { notified++ })
		for _, snapExpiry := range []time.Duration{-time.Minute, time.Hour} {
			old := p
			old.Expires = now.Add(snapExpiry)
			if got := r.refreshed([]PREF64{old}); len(got) != 1 || !got[0].Expires.Equal(p.Expires) {
				t.Errorf("snapshot expiry %v: refreshed = %+v, want the RA's %v", snapExpiry, got, p.Expires)
			}
		}
		time.Sleep(300 * time.Millisecond) // the expiry; the timer has not run yet
		r.refreshed([]PREF64{p})
		synctest.Wait()
		if notified != 1 {
			t.Errorf("expiry notified %d times, want 1", notified)
		}
	})
}
