package pairs

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestStreamHostsNameOneLookup: a name of the hosts file is looked up once
// for both families ("ip"), as net.Dialer looks it up: the system answers for
// it without DNS, so there is no Resolution Delay to keep between the
// families, and one lookup costs half of two.
func TestStreamHostsNameOneLookup(t *testing.T) {
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte(dst6+" db.test\n"+dst4+" db.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		// No "ip4" or "ip6" answer: those lookups would find nothing.
		dns := scripted{"db.test. ip": {after: time.Millisecond, addrs: []netip.Addr{ip(dst6), ip(dst4)}}}
		sel := dns.selector(t)
		sel.stub.hostsPath = hosts
		st, err := sel.Stream(t.Context(), Query{Host: "db.test", Port: 443})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		awaitDone(st)
		want := []string{pair(gua, "["+dst6+"]:443"), pair(v4, dst4+":443"), pair(ula, "["+dst6+"]:443")}
		if got := take(st); !slices.Equal(got, want) {
			t.Errorf("pairs %q, want %q", got, want)
		}
	})
}
