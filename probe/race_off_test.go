//go:build !race

package probe_test

// raceEnabled is set when the race detector is on: slow tests do less.
const raceEnabled = false
