package probe_test

// Reserved addresses and a truncated file, from the share file and the probe
// target parsers.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getapr/getapr/probe"
)

// TestShareRefusesReservedIPv6: entries whose destination is a reserved IPv6
// address (the rest of ::/8, IPv4-compatible and SIIT forms included, the
// unallocated 4000::/2, SRv6's 5f00::/16) are refused, as Share says: neither
// learned nor written back.
func TestShareRefusesReservedIPv6(t *testing.T) {
	now := time.Now()
	for _, dst := range []string{
		"::2",                // ::/8, reserved by the IETF
		"::a9fe:a9fe",        // IPv4-compatible 169.254.169.254 (deprecated, RFC 4291)
		"::7f00:1",           // IPv4-compatible 127.0.0.1
		"::ffff:0:a9fe:a9fe", // SIIT IPv4-translated 169.254.169.254 (RFC 2765)
		"4000::1",            // outside 2000::/3: unallocated
		"5f00::1",            // SRv6 SIDs (RFC 9602), not globally reachable
	} {
		t.Run(dst, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pairs.json")
			writeShare(t, path, shareDoc(entry(srcA, dst, 30*time.Millisecond, now, "")))
			s := newSharingStore()
			if err := s.Share(path); err != nil {
				t.Fatal(err)
			}
			if ps, learned := s.Pair(addr(srcA), addr(dst)); learned {
				t.Errorf("reserved destination %s learned from the shared file: %+v", dst, ps)
			}
			if _, _, pairs := readFile(t, path); len(pairs) != 0 {
				t.Errorf("reserved destination %s written back: %v", dst, pairs)
			}
		})
	}
}

// TestShareTruncatedFile: a shared file cut short after an entry (a writer
// killed mid-write, a full disk) is corrupt: not read, as Share says.
func TestShareTruncatedFile(t *testing.T) {
	now := time.Now()
	path := filepath.Join(t.TempDir(), "pairs.json")
	full := shareDoc(entry(srcA, dstD, 30*time.Millisecond, now, ""))
	truncated := strings.TrimSuffix(full, "]}")
	writeShare(t, path, truncated)
	s := newSharingStore()
	if err := s.Share(path); err != nil {
		t.Fatal(err)
	}
	if ps, learned := s.Pair(addr(srcA), addr(dstD)); learned {
		t.Errorf("entry of a truncated (corrupt) file learned: %+v", ps)
	}
}

// TestProbeTargetRefusesReserved: probe targets that are reserved or not
// globally reachable are refused, also in IPv6 forms that embed an IPv4
// address (IPv4-compatible, SIIT, the local-use NAT64 prefix 64:ff9b:1::/48
// without the private mark).
func TestProbeTargetRefusesReserved(t *testing.T) {
	for _, s := range []string{
		"[::2]:80",
		"[::169.254.169.254]:80",    // IPv4-compatible metadata address
		"[::127.0.0.1]:80",          // IPv4-compatible loopback
		"[::ffff:0:a9fe:a9fe]:80",   // SIIT IPv4-translated metadata address
		"[4000::1]:80",              // unallocated
		"[5f00::1]:80",              // SRv6 SIDs
		"[64:ff9b:1::a9fe:a9fe]:80", // local-use NAT64 of 169.254.169.254
		"[64:ff9b:1::7f00:1]:80",    // local-use NAT64 of 127.0.0.1
	} {
		if ap, err := probe.ParseProbeTarget(s); err == nil {
			t.Errorf("ParseProbeTarget(%q) = %v, nil; want an error", s, ap)
		}
	}
}

// TestProbeTargetLocalNAT64: an address under the local-use NAT64 prefix
// 64:ff9b:1::/48 (here of 198.51.100.1) is private: allowed with the private
// mark, as a ULA; global unicast and the well-known NAT64 prefix stay allowed.
func TestProbeTargetLocalNAT64(t *testing.T) {
	for _, s := range []string{"private:[64:ff9b:1:c633:64:100::]:80", "[2001:db8::1]:80", "[64:ff9b::c633:6401]:80"} {
		if _, err := probe.ParseProbeTarget(s); err != nil {
			t.Errorf("ParseProbeTarget(%q): %v", s, err)
		}
	}
}

// TestShareTruncatedAtCap: a full file (shareMaxKeep entries, the most a
// writer writes) cut short after its last entry is corrupt too.
func TestShareTruncatedAtCap(t *testing.T) {
	now := time.Now()
	const keep = 10000
	entries := make([]string, keep)
	for i := range entries {
		entries[i] = entry(srcA, fmt.Sprintf("2001:db8:77::%x", i+1), 30*time.Millisecond, now, "")
	}
	full := shareDoc(entries...)
	path := filepath.Join(t.TempDir(), "pairs.json")
	writeShare(t, path, strings.TrimSuffix(full, "]}"))
	s := newSharingStore()
	if err := s.Share(path); err != nil {
		t.Fatal(err)
	}
	n := 0 // the Store keeps 4,096 of them when the file is read
	for i := 1; i <= keep; i++ {
		if _, learned := s.Pair(addr(srcA), addr(fmt.Sprintf("2001:db8:77::%x", i))); learned {
			n++
		}
	}
	if n > 0 {
		t.Errorf("%d entries of a truncated (corrupt) file of %d entries learned; want none", n, keep)
	}
}

// TestProbeTargetLocalNAT64Refused: under the local-use NAT64 prefix, the
// embedded IPv4 address must be one that may be probed: the NAT64 forms of
// the cloud metadata address and of loopback are refused, private mark or
// not.
func TestProbeTargetLocalNAT64Refused(t *testing.T) {
	for _, s := range []string{
		"private:[64:ff9b:1::a9fe:a9fe]:80", // 169.254.169.254 (cloud metadata)
		"private:[64:ff9b:1::7f00:1]:80",    // 127.0.0.1
		"private:[64:ff9b::a9fe:a9fe]:80",   // the same under the well-known prefix: refused
	} {
		if ap, err := probe.ParseProbeTarget(s); err == nil {
			t.Errorf("ParseProbeTarget(%q) = %v, nil; want an error (metadata/loopback never probed)", s, ap)
		}
	}
}
