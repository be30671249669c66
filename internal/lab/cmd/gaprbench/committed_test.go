package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCommittedCharts parses every chart committed under charts/ at the root of
// the repository with encoding/xml (checkSVG: title, axes, legend, a data mark,
// under 50 KB), so that a broken chart fails CI; and checks that every chart the
// README and BENCHMARKS.md show exists, and that the README shows the time to
// connect after its two commands.
func TestCommittedCharts(t *testing.T) {
	root := repoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "charts", "*.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no charts in charts/ (sudo make bench writes them)")
	}
	checkSVGFiles(t, files)
	link := regexp.MustCompile(`!\[[^\]]*\]\((charts/[^)]+\.svg)\)`)
	for _, doc := range []string{"README.md", "BENCHMARKS.md"} {
		text, err := os.ReadFile(filepath.Join(root, doc))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(m[1]))); err != nil {
				t.Errorf("%s shows %s: %v", doc, m[1], err)
			}
		}
		if doc == "README.md" {
			_, after, _ := strings.Cut(string(text), "\n## The two commands\n")
			section, _, _ := strings.Cut(after, "\n## ")
			if !strings.Contains(section, "](charts/"+chartConnect+")") {
				t.Errorf("README.md does not show charts/%s in its section on the two commands", chartConnect)
			}
		}
	}
}

// repoRoot returns the directory of the main module's go.mod, above this
// package.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(data), "module github.com/getapr/getapr\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod of github.com/getapr/getapr above this package")
		}
		dir = parent
	}
}
