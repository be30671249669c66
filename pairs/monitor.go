package pairs

import (
	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// newMonitor starts the Watcher a Selector uses when none is given, its first
// snapshot of generation first.
func newMonitor(log *zap.Logger, first uint64) (netstate.Watcher, error) {
	return netstate.New(netstate.WithLogger(log), netstate.WithFirstGeneration(first))
}
