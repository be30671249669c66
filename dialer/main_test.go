//go:build !lab

package dialer

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/getapr/getapr/internal/isolate"
)

func TestMain(m *testing.M) {
	isolate.MustSetup()
	if isolate.InChild() {
		// A child of isolate.Run (the comparison harness): its zero-value
		// PairDialer starts the process-wide default Selector, whose
		// goroutines live as long as the process. The parent, which makes no
		// zero-value dial, checks for leaks.
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}
