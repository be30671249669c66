//go:build !lab

package lab

import (
	"testing"

	"go.uber.org/goleak"
)

// Without the lab tag only the unit tests run; they start goroutines (relays,
// servers) and must stop them all.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
