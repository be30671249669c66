package main

import (
	"fmt"
	"sync"
	"time"
)

const (
	// progressDelay is how long an operation runs before the indicator appears, so
	// that quick answers do not flicker.
	progressDelay = 200 * time.Millisecond
	// progressTick is the spinner's frame interval.
	progressTick = 100 * time.Millisecond
)

// progress shows a spinner with msg on stderr until stop is called, when stderr is
// a terminal; otherwise it does nothing. stop erases the line and waits for the
// spinner's goroutine.
func (c *cli) progress(msg string) (stop func()) {
	if !c.tty {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { c.spin(msg, done) })
	return func() {
		close(done)
		wg.Wait()
	}
}

func (c *cli) spin(msg string, done <-chan struct{}) {
	select {
	case <-done:
		return
	case <-time.After(progressDelay):
	}
	t := time.NewTicker(progressTick)
	defer t.Stop()
	const frames = `|/-\`
	for i := 0; ; i++ {
		fmt.Fprintf(c.stderr, "\r%c %s", frames[i%len(frames)], msg)
		select {
		case <-done:
			fmt.Fprint(c.stderr, "\r\x1b[K")
			return
		case <-t.C:
		}
	}
}
