package netstate

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/getapr/getapr/internal/isolate"
)

func TestMain(m *testing.M) {
	isolate.MustSetup()
	goleak.VerifyTestMain(m)
}
