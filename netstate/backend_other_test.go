//go:build !linux

package netstate

import "testing"

func TestOtherMonitor(t *testing.T) {
	if _, err := New(WithNetNS(3)); err == nil {
		t.Error("WithNetNS accepted off Linux")
	}
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if s := m.Snapshot(); s.Generation != 1 || len(s.Links) == 0 {
		t.Errorf("Snapshot() = %+v", s)
	}
}
