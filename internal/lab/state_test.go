package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestFactsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := newPlan("unit")
	f := newFacts(&p, dir, [2]time.Duration{20 * time.Millisecond, 60 * time.Millisecond})
	if err := writeFacts(dir, f); err != nil {
		t.Fatal(err)
	}
	g, err := readFacts(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g) != fmt.Sprint(f) {
		t.Errorf("read back\n%+v\nwant\n%+v", g, f)
	}
	if g.Uplinks[0].Router6.Zone() != "eth0" || g.Uplinks[1].ULA.IsValid() || g.Server.DNS.Port() != 53 {
		t.Errorf("facts lost detail: %+v", g.Uplinks)
	}
	l, err := attachFile(g.State)
	if err != nil || l.Client() != "gapr-unit-client" || l.Close() != nil || l.ShutdownRequested() != nil {
		t.Errorf("attach: %v, %v", l, err)
	}
}

func TestLiveOwner(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	write := func(pid int, start uint64) {
		if err := os.WriteFile(filepath.Join(dir, "owner"), fmt.Appendf(nil, "%d %d\n", pid, start), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := liveOwner(dir); ok {
		t.Error("owner without a file")
	}
	_, start, err := procInfo(1)
	if err != nil {
		t.Skipf("no /proc/1: %v", err)
	}
	write(1, start)
	if pid, ok := liveOwner(dir); !ok || pid != 1 {
		t.Errorf("pid 1 with its start time: %d, %v", pid, ok)
	}
	write(1, start+1)
	if _, ok := liveOwner(dir); ok {
		t.Error("a reused pid counts as the owner")
	}
	if err := writeOwner(dir); err != nil {
		t.Fatal(err)
	}
	if _, ok := liveOwner(dir); ok {
		t.Error("this process counts as a foreign owner")
	}
}
