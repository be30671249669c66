package pairs

import (
	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// newMonitor starts the Watcher a Selector uses when none is given.
func newMonitor(log *zap.Logger) (netstate.Watcher, error) {
	return netstate.New(netstate.WithLogger(log))
}
