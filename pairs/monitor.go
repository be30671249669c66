package pairs

import (
	"go.uber.org/zap"

	"github.com/getapr/getapr/netstate"
)

// newMonitor starts the Watcher a Selector uses when none is given, its first
// snapshot of generation first, knowing the RA NAT64 prefixes pref64 that the
// Monitor it replaces had learned.
func newMonitor(log *zap.Logger, first uint64, pref64 []netstate.PREF64) (netstate.Watcher, error) {
	return netstate.New(netstate.WithLogger(log), netstate.WithFirstGeneration(first), netstate.WithPREF64s(pref64))
}
