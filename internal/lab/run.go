package lab

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"golang.org/x/sync/errgroup"
)

// CmdError is a failed ip batch: the command line, its input and what it said.
type CmdError struct {
	Args   []string
	Input  string
	Output string
	Err    error
}

func (e *CmdError) Error() string {
	return fmt.Sprintf("lab: %s: %v: %s\ninput:\n%s", strings.Join(e.Args, " "), e.Err,
		strings.TrimSpace(e.Output), e.Input)
}

func (e *CmdError) Unwrap() error { return e.Err }

// args returns the command line of c.
func (c cmd) args() []string {
	a := []string{"ip"}
	if c.ns != "" {
		a = append(a, "-n", c.ns)
	}
	switch c.family {
	case 4:
		a = append(a, "-4")
	case 6:
		a = append(a, "-6")
	}
	if c.force {
		a = append(a, "-force")
	}
	return append(a, "-batch", "-")
}

// run runs c; a forced batch never fails.
func (c cmd) run(ctx context.Context) error {
	if c.nft != nil {
		return c.nft.run(ctx, c.ns)
	}
	if len(c.lines) == 0 {
		return nil
	}
	args := c.args()
	input := strings.Join(c.lines, "\n") + "\n"
	x := exec.CommandContext(ctx, args[0], args[1:]...)
	x.Stdin = strings.NewReader(input)
	var out bytes.Buffer
	x.Stdout, x.Stderr = &out, &out
	if err := x.Run(); err != nil && !c.force {
		return &CmdError{Args: args, Input: input, Output: out.String(), Err: err}
	}
	return nil
}

// runStages runs the stages in order, the commands of each concurrently.
func runStages(ctx context.Context, stages ...stage) error {
	for _, st := range stages {
		g, gctx := errgroup.WithContext(ctx)
		for _, c := range st {
			g.Go(func() error { return c.run(gctx) })
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// forEach runs fn for every item concurrently and returns the first error.
func forEach[T any](items []T, fn func(T) error) error {
	var g errgroup.Group
	for _, it := range items {
		g.Go(func() error { return fn(it) })
	}
	return g.Wait()
}
