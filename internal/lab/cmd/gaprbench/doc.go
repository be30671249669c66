// Gaprbench measures time-to-connect on broken networks in the project's lab
// (package internal/lab): getapr's PairDialer (cold and warm) beside net.Dialer
// and curl, next to the physical limit, and the idle probe traffic of a
// Selector. It writes a markdown report, SVG charts beside it (see Charts) and,
// with -readme, puts its tables into the README between the lines
// "<!-- bench:start -->" and "<!-- bench:end -->". It needs root and ip
// (iproute2) on Linux; without curl, curl's column stays empty.
//
// Usage:
//
//	gaprbench [-out BENCHMARKS.md] [-readme README.md] [-gobench bench-go.txt] [-charts DIR]
//	          [-dials 20] [-timeout 5s] [-idle 60s] [-recovery-runs 3] [-soak=true]
//	          [-rtt0 20ms] [-rtt1 60ms] [-json bench-lab.json]
//	gaprbench -from bench-lab.json [-gobench bench-go.txt] [-out BENCHMARKS.md] [-readme README.md] [-charts DIR]
//
// It brings up a lab of its own (namespaces gapr-bench-<pid>-*), runs itself
// again inside the lab's client namespace (lab.Lab.ExecClient) where every dial
// is made, and tears the lab down when it is done, on error, and on SIGINT or
// SIGTERM. Traffic stays inside the lab.
//
// Scenarios, each after the lab's controls are restored:
//
//   - healthy: both uplinks work;
//   - uplink 0 blackholed: ISP A silently drops everything of the client;
//   - uplink 0 cut: the client's link to ISP A has no carrier;
//   - no policy routing: the client has no source-based routing, both ISPs
//     filter foreign sources (BCP 38) and uplink 0 is blackholed, so the only way
//     out is an uplink 1 source sent by uplink 1's interface;
//   - NAT44 only: an IPv4-only client whose uplink 1 (public IPv4) is
//     blackholed, so only the RFC 1918 source behind ISP A's NAT44 works;
//   - NPTv6 only: an IPv6-only client without uplink 0's GUA and with uplink 1
//     blackholed, so only the ULA behind ISP A's NPTv6 works.
//   - NAT64 (RA), IPv4 literal and A-only name: an IPv6-only client whose
//     uplink 1 is behind a NAT64 (tayga), its prefix advertised by RAs, one
//     before the cold Selectors start (they solicit another) and one the warm
//     Selector receives; only the NAT64 reaches the IPv4 server;
//   - NAT64 (DNS64), IPv4 literal: the same NAT64 without an RA, its prefix
//     found through ipv4only.arpa at the first dial that needs it.
//
// Then the time back to the best path (-recovery-runs runs of each, 3 by
// default, about 5 minutes a run; see package internal/soak): one process
// dialing every 250 ms with a PairDialer over a fresh Selector, after 5 s of
// healthy dials, through a cut healed with the neighbour caches flushed and with
// the router's entry left FAILED, blackholes of 10 s and 120 s, uplink 0 five
// times slower and fast again, a move to another network and back, and ±2 ms
// of jitter on uplinks 5 ms apart (first-pair flips per minute); the table has
// the median and the worst run. Last, the idle probe traffic of a quiet (the
// default) and of an eager Selector.
//
// In each, every method dials the lab server's name (or the scenario's own
// target) -dials times with a
// timeout of -timeout; a failed dial counts as the timeout. A method's first
// dial runs alone; when it failed, the other dials of that method run all at
// once, in parallel, so that a scenario does not take dials × timeout.
//
// Then, with -soak (the default), the soak schedule of package internal/soak
// (about 2.5 minutes a run): with a PairDialer over a fresh Selector, then with
// net.Dialer, every dial kept for the timeline chart.
//
// -gobench names the output of `make bench-go` (go test -bench -benchmem
// -count N); when the file exists, the medians over the runs of the ranking,
// Get, Status and loopback dial benchmarks are added to the report. Its
// default is bench-go.txt, skipped quietly when absent.
//
// # Charts
//
// Into -charts (default: the directory charts beside -out) it writes, for the
// data the run has, plain SVG files that the report and the README show (the
// README shows time-to-connect.svg after its two commands):
//
//   - time-to-connect.svg: per scenario and method, the median time to connect
//     with a whisker to the p95, failed dials as an × at the timeout, the
//     physical limit as a line;
//   - soak-timeline.svg: every dial of the soak runs, time against connect
//     time, coloured by the uplink that won, the faults as shaded bands, the
//     moment each run was back on the best path;
//   - dial-overhead.svg: the loopback dial's cost against net.Dialer's from the
//     Go benchmarks (BenchmarkDial, BenchmarkDialAB and BenchmarkParallel, when
//     present).
//
// The charts are written by this program's own code (no plotting library, no
// fonts: text in a generic family), on an opaque background, the same bytes for
// the same data, each checked before it is written (checkSVG). Every run saves
// what it measured to -json; -from re-renders the report, the README region
// and the charts from such a file without measuring, with the Go benchmarks
// the file holds, or those of -gobench when it is given (the report says when
// each was measured).
package main
