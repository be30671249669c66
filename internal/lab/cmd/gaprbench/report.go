package main

import (
	"net/netip"
	"time"

	"github.com/getapr/getapr/internal/soak"
)

// The dial methods compared, in the order of the table's columns.
const (
	methodNetDialer = iota
	methodCurl
	methodPairCold
	methodPairWarm
	numMethods
)

// methodName returns the column head of method m.
func methodName(m int) string {
	return [numMethods]string{"net.Dialer", "curl", "PairDialer cold", "PairDialer warm"}[m]
}

// Report is everything one run found: the input of the markdown.
type Report struct {
	Machine Machine
	// Date is when the run started.
	Date time.Time
	// Command is the command line, as a user would type it.
	Command string
	// GoVersion is the Go release the program was built with.
	GoVersion string
	// Curl is curl's version line; empty when curl was not found.
	Curl string
	// RTT is the round-trip delay of uplink 0 and uplink 1 as set in the lab.
	RTT [2]time.Duration
	// Timeout bounds each dial; a failed dial counts as Timeout.
	Timeout time.Duration
	// Dials is the number of dials per method and scenario.
	Dials int
	// ColdNew is the median time pairs.New took for the cold dials (not part of
	// their time to connect).
	ColdNew time.Duration
	// Scenarios are the lab scenarios, in the order run.
	Scenarios []ScenarioResult
	// Idle is the idle probe traffic of the default, quiet, Selector and
	// IdleEager of one with WithEagerProbing; nil when not measured.
	Idle, IdleEager *IdleResult
	// Recovery is the time back to the best path; nil when not measured.
	Recovery *RecoveryResult
	// GoBench are the Go benchmarks read from GoBenchFile; nil when none.
	GoBench     []BenchResult
	GoBenchFile string
	// GoBenchTime is GoBenchFile's modification time.
	GoBenchTime time.Time
	// GoBenchTook is how long the Go benchmarks took, the sum of GoBenchFile's
	// "ok" lines; LabTook how long the lab measured. Zero: not known.
	GoBenchTook, LabTook time.Duration `json:",omitempty"`
	// Soak is every dial of the soak schedule, run with a PairDialer and then
	// with net.Dialer; nil when not run.
	Soak *soak.Timeline `json:",omitempty"`
	// ChartDir is where the charts are, relative to the markdown files, in
	// slash form; empty: the markdown shows no charts.
	ChartDir string `json:"-"`
}

// ScenarioResult is what one lab scenario measured.
type ScenarioResult struct {
	// Name is the row's label; Setup says how the lab was set for it.
	Name, Setup string
	// Limit is the physical limit: the RTT of the best working pair.
	Limit time.Duration
	// Results are indexed by method; a zero Summary was not measured.
	Results [numMethods]Summary
	// SamePair is net.Dialer over the pair each warm dial connected by (its
	// source bound, its address a literal), dialed right after that dial: what
	// the path itself gave at the moments of the warm dials. Zero: not measured.
	SamePair Summary `json:",omitzero"`
	// Learned is how long the warm Selector took, from its first dial, to finish
	// its first probe round and know the failing sources dead (or stop offering
	// their pairs); negative when it did not within the limit given.
	Learned time.Duration
	// Targets says that the cold and warm targets apply.
	Targets bool
	// TLS says that a dial was a TCP connect and a TLS handshake; Limit is
	// then twice the RTT.
	TLS bool
	// Target is what was dialed: a name (A and AAAA) or an address.
	Target string
	// PREF64Known is how long after the RA the warm Selector's Status showed
	// the NAT64 prefix; zero when not measured.
	PREF64Known time.Duration
}

// ColdTarget is the bound on a cold dial: 250 ms plus 1.2 × the RTT of the
// working uplink; 400 ms for a TLS dial (issue 14).
func (s *ScenarioResult) ColdTarget() time.Duration {
	if s.TLS {
		return tlsColdTarget
	}
	return 250*time.Millisecond + s.Limit*12/10
}

// tlsColdTarget is issue 14's bound on a cold TLS dial through the middlebox.
const tlsColdTarget = 400 * time.Millisecond

// WarmTarget is the bound on a warm dial: 1.1 × the limit (the RTT of the
// working uplink; with TLS, the TCP and TLS handshakes over it).
func (s *ScenarioResult) WarmTarget() time.Duration { return s.Limit * 11 / 10 }

// coldRule says how ColdTarget is made.
func (s *ScenarioResult) coldRule() string {
	if s.TLS {
		return "issue 14"
	}
	return "250 ms + 1.2 × " + ms(s.Limit) + " ms"
}

// IdleResult is the probe traffic of an idle Selector.
type IdleResult struct {
	// Eager is set for a Selector made WithEagerProbing; otherwise it probes
	// quietly, the default.
	Eager bool
	// Duration is how long the Selector was watched.
	Duration time.Duration
	// Targets are the destinations probed, with their traffic.
	Targets []IdleTarget
}

// IdleTarget is the probe traffic to one destination.
type IdleTarget struct {
	Dst netip.AddrPort
	// Paths is the number of sources that probed Dst.
	Paths int
	// Connects is the number of connects to Dst.
	Connects int
}

// per10s returns n events in d as a rate per 10 seconds.
func per10s(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n * float64(10*time.Second) / float64(d)
}

// worstPathRate is the highest rate of connects per path per 10 s over the
// targets.
func (r *IdleResult) worstPathRate() float64 {
	worst := 0.0
	for _, t := range r.Targets {
		if t.Paths > 0 {
			worst = max(worst, per10s(float64(t.Connects)/float64(t.Paths), r.Duration))
		}
	}
	return worst
}
