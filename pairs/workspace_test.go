package pairs

import (
	"slices"
	"testing"
)

// TestRankReusedWorkspace checks that a ranking does not depend on what a reused
// workspace held: each ranking, after others of other sizes, equals the ranking
// with a new workspace.
func TestRankReusedWorkspace(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int // ranked in this order with one workspace
	}{
		{"smaller after larger", []int{16, 4}},
		{"larger after smaller", []int{4, 16}},
		{"same twice", []int{8, 8}},
		{"up and down", []int{2, 16, 3, 12}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := new(workspace)
			for _, n := range tt.sizes {
				in := benchInput(n)
				want := rank(in, new(workspace))
				got := rank(in, ws)
				ws.release() // as workspaces.put does
				if !slices.Equal(got, want) {
					t.Errorf("%dx%d with a reused workspace:\n got %v\nwant %v", n, n, got, want)
				}
			}
		})
	}
}
