package pairs

import (
	"net/netip"
	"sync"

	"github.com/getapr/getapr/probe"
)

// workspace is the scratch of one ranking: its input's candidates and
// destinations, the working state of rank, and its result. A Selector keeps
// workspaces between rankings (see workspaces), so that a ranking allocates
// nothing. Nothing in a workspace but its reason cache outlives one ranking (each
// use starts from reset), and what the cache keeps changes no result: a Reason
// found there is the text its key stands for.
type workspace struct {
	in rankInput
	// ranked holds the pairs of the last ranking, rank's result, unless its
	// input asked for pairs of their own (rankInput.keep: Get): what a caller
	// keeps beyond its use of the workspace, it copies (Order does).
	// Between rankings its pairs refer only to strings: Reasons (the cache has
	// them too) and interface names.
	ranked []Pair
	cands  []candWork
	dsts   []dstWork
	keys   []uint64
	sort   []uint64    // sortKeys' scratch, as long as keys
	count  radixCounts // sortKeys' other scratch
	idx    []int32
	from   fromScratch
	text   []byte // one Reason's text, as reasonCache.text writes it
	// reasons keeps the Reasons written, for later rankings.
	reasons reasonCache
	lits    [2]netip.Addr // the destinations of a literal or empty host
}

// input returns the workspace's rankInput, emptied, with the view's sources srcs
// (shared: see addSource).
func (ws *workspace) input(srcs []source) *rankInput {
	in := &ws.in
	*in = rankInput{srcs: srcs, spare: in.spare[:0], cands: in.cands[:0], dsts: in.dsts[:0]}
	return in
}

// reset sizes the ranking's scratch for in and zeroes it.
func (ws *workspace) reset(in *rankInput) {
	n, nd, ns := len(in.cands), len(in.dsts), len(in.srcs)
	ws.cands = resized(ws.cands, n)
	ws.dsts = resized(ws.dsts, nd)
	ws.keys = grown(ws.keys, n) // rank writes every key before it reads one
	ws.sort = grown(ws.sort, n)
	ws.idx = resized(ws.idx, 3*n+2*nd+ns+2)
}

// release drops what the workspace refers to outside itself (the view's sources,
// the knowledge, the destinations), so that a kept workspace holds on to nothing.
func (ws *workspace) release() {
	ws.in.k = nil
	clear(ws.in.spare[:cap(ws.in.spare)])
	ws.in.srcs = nil
	clear(ws.dsts)
}

// resized returns s with length n and every element zero, reusing its array
// when it is large enough.
func resized[S ~[]E, E any](s S, n int) S {
	s = grown(s, n)
	clear(s)
	return s
}

// grown returns s with length n, reusing its array when it is large enough:
// for scratch that is written in full before it is read, which zeroing would
// only make cost more (4,096 pairs are 640 KiB).
func grown[S ~[]E, E any](s S, n int) S {
	if cap(s) < n {
		return make(S, n)
	}
	return s[:n]
}

// fromScratch holds the arguments of one knowledge.Estimates call, reused from
// source to source.
type fromScratch struct {
	dsts []netip.Addr
	out  []probe.Estimate
}

// resize sizes fs for n destinations.
func (fs *fromScratch) resize(n int) {
	fs.dsts = resized(fs.dsts, n)
	fs.out = resized(fs.out, n)
}

// workspaces keeps the workspaces of a Selector's rankings between calls. The zero
// value is ready to use.
type workspaces struct{ pool sync.Pool }

// get returns a workspace, a kept one when there is.
func (p *workspaces) get() *workspace {
	if ws, ok := p.pool.Get().(*workspace); ok {
		return ws
	}
	return new(workspace)
}

// put keeps ws for a later ranking.
func (p *workspaces) put(ws *workspace) {
	ws.release()
	p.pool.Put(ws)
}
