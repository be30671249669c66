package nat64

import (
	"net/netip"
	"testing"
	"time"
)

// A DNS64 answer (a hostile or broken resolver) with a thousand AAAA records,
// each embedding 192.0.0.170 under its own /96, must not give a thousand
// prefixes, nor take quadratic time to read.
func TestPrefixesFromAnswersBounded(t *testing.T) {
	var answers []netip.Addr
	for i := range 1000 {
		a := [16]byte{0x20, 0x01, 0x0d, 0xb8, 0x64, byte(i >> 8), byte(i), 12: 192, 13: 0, 14: 0, 15: 170}
		answers = append(answers, netip.AddrFrom16(a))
	}
	t0 := time.Now()
	ps := PrefixesFromAnswers(answers)
	t.Logf("1000 answers: %d prefixes in %v", len(ps), time.Since(t0))
	if len(ps) > maxPrefixes {
		t.Errorf("%d prefixes, want at most %d", len(ps), maxPrefixes)
	}
}
