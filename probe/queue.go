package probe

// job is one path waiting to be probed, or being probed.
type job struct {
	path    Path
	asked   bool // for a destination the application asked for, or a re-check
	recheck bool // a re-check: connect again while the estimate is unsettled
	running bool
	rounds  []*roundDone // rounds waiting for this path
}

// roundDone counts the paths of a round still to be probed, and calls done when
// none is left.
type roundDone struct {
	left int
	done func()
}

// queue holds the paths waiting to be probed, in two classes served in turn:
// those the application asked for (and re-checks), and the rest (gateways,
// configured targets, anchors). A path is in it at most once, queued or running.
// Its methods are called with the Prober's mu held.
type queue struct {
	asked, other []*job
	byPath       map[Path]*job
	runOther     int  // other jobs running
	lastOther    bool // the last job taken was of the other class
	workers      int  // worker goroutines running
	running      int  // jobs running (taken, not finished): the busy workers
}

func newQueue() queue { return queue{byPath: make(map[Path]*job)} }

// len returns the number of paths waiting.
func (q *queue) len() int { return len(q.asked) + len(q.other) }

// add queues path unless it is queued or running already, in which case an asked
// path moves to the asked class; r (if not nil) waits for it. A re-check (which
// is asked) connects again while the estimate is unsettled. It reports whether
// the path is in the queue now (false: it was dropped, the queue being full).
func (q *queue) add(path Path, asked, recheck bool, r *roundDone) bool {
	asked = asked || recheck
	if j := q.byPath[path]; j != nil {
		j.recheck = j.recheck || recheck
		if r != nil {
			j.rounds = append(j.rounds, r)
			r.left++
		}
		if asked && !j.asked && !j.running {
			j.asked = true
			q.asked = append(q.asked, j) // its place in other is skipped by take
		}
		return true
	}
	if q.len() >= maxQueued {
		return false
	}
	j := &job{path: path, asked: asked, recheck: recheck}
	if r != nil {
		j.rounds = append(j.rounds, r)
		r.left++
	}
	q.byPath[path] = j
	if asked {
		q.asked = append(q.asked, j)
	} else {
		q.other = append(q.other, j)
	}
	return true
}

// take returns the next job to run, or nil. The classes take turns; at most
// maxOther jobs of the other class run at a time, so that a path asked for finds
// a free worker even when the other class is stuck on unanswered connects.
func (q *queue) take(maxOther int) *job {
	q.other = skipMoved(q.other)
	canOther := len(q.other) > 0 && q.runOther < maxOther
	switch {
	case len(q.asked) > 0 && (!canOther || q.lastOther):
		j := q.asked[0]
		q.asked = q.asked[1:]
		q.lastOther = false
		j.running = true
		q.running++
		return j
	case canOther:
		j := q.other[0]
		q.other = q.other[1:]
		q.lastOther = true
		q.runOther++
		j.running = true
		q.running++
		return j
	}
	return nil
}

// skipMoved drops the jobs at the head of other that moved to the asked class.
func skipMoved(other []*job) []*job {
	for len(other) > 0 && other[0].asked {
		other = other[1:]
	}
	return other
}

// finish forgets a job that ran, and returns the rounds it completed.
func (q *queue) finish(j *job) []*roundDone {
	delete(q.byPath, j.path)
	q.running--
	if !j.asked {
		q.runOther--
	}
	var done []*roundDone
	for _, r := range j.rounds {
		if r.left--; r.left == 0 {
			done = append(done, r)
		}
	}
	return done
}

// drain empties the queue (the Prober is closing) and returns the jobs that never
// ran.
func (q *queue) drain() []*job {
	var out []*job
	for _, j := range q.byPath {
		if !j.running {
			out = append(out, j)
			delete(q.byPath, j.path)
		}
	}
	q.asked, q.other = nil, nil
	return out
}
