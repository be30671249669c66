package pairs

import (
	"testing"
	"testing/synctest"
)

// TestStreamClosedAfterSelectorCloseLeavesNoLookup: a Stream still open when
// its Selector is closed (a dial in flight) leaves, when it is closed in its
// turn within the grace, no HTTPS lookup running to learn whether the
// resolver answers: the Selector's Close stopped its goroutines for good, and
// nothing would stop that lookup but the end of its grace.
func TestStreamClosedAfterSelectorCloseLeavesNoLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sw := &switchable{dns: dropped}
		sel := dropped.selector(t, withHTTPSLookup(sw.https))
		st, _ := startStream(t, sel, false) // its HTTPS lookup runs, within the grace
		sel.Close()
		st.Close()
		synctest.Wait()
		if _, active := sw.counts(); active != 0 {
			t.Errorf("%d HTTPS lookups running after the Selector's Close and the Stream's", active)
		}
	})
}
