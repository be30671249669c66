package main

import (
	"os"
	"strings"
	"testing"
)

func TestReplaceRegionGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/readme.in.md")
	if err != nil {
		t.Fatal(err)
	}
	got, err := replaceRegion(string(in), testReport(t).Region())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "readme.golden.md", got)
	again, err := replaceRegion(got, testReport(t).Region())
	if err != nil || again != got {
		t.Errorf("replacing the region a second time changed the README (err %v)", err)
	}
}

func TestReplaceRegion(t *testing.T) {
	for _, tc := range []struct {
		name, doc, region, want string
		ok                      bool
	}{
		{"empty region", "a\n<!-- bench:start -->\n<!-- bench:end -->\nb\n", "x\n",
			"a\n<!-- bench:start -->\nx\n<!-- bench:end -->\nb\n", true},
		{"old text replaced", "<!-- bench:start -->\nold\nolder\n<!-- bench:end -->", "new",
			"<!-- bench:start -->\nnew\n<!-- bench:end -->", true},
		{"indented markers", "  <!-- bench:start -->\nold\n <!-- bench:end -->\n", "new\n",
			"  <!-- bench:start -->\nnew\n <!-- bench:end -->\n", true},
		{"empty replacement", "<!-- bench:start -->\nold\n<!-- bench:end -->\n", "",
			"<!-- bench:start -->\n<!-- bench:end -->\n", true},
		{"marker inside a line is not a marker", "see <!-- bench:start --> here\n<!-- bench:end -->\n", "x", "", false},
		{"no end", "<!-- bench:start -->\n", "x", "", false},
		{"no start", "<!-- bench:end -->\n", "x", "", false},
		{"end first", "<!-- bench:end -->\n<!-- bench:start -->\n", "x", "", false},
		{"two starts", "<!-- bench:start -->\n<!-- bench:start -->\n<!-- bench:end -->\n", "x", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replaceRegion(tc.doc, tc.region)
			if (err == nil) != tc.ok {
				t.Fatalf("replaceRegion error %v; want ok %v", err, tc.ok)
			}
			if got != tc.want {
				t.Errorf("replaceRegion =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestCPUModel(t *testing.T) {
	const cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n"
	if got, want := cpuModel(strings.NewReader(cpuinfo)), "AMD EPYC 7B13 64-Core Processor"; got != want {
		t.Errorf("cpuModel = %q; want %q", got, want)
	}
	if got := cpuModel(strings.NewReader("processor\t: 0\n")); got != "" {
		t.Errorf("cpuModel without a model name = %q; want empty", got)
	}
}
