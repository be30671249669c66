//go:build !lab

package pairs

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/getapr/getapr/internal/isolate"
)

func TestMain(m *testing.M) {
	isolate.MustSetup()
	if isolate.InChild() {
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}
