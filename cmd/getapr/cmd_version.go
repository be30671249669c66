package main

import (
	"context"
	"fmt"
	"runtime/debug"
)

// versionJSON is the JSON output of "getapr version".
type versionJSON struct {
	Module   string `json:"module"`
	Version  string `json:"version"` // "(devel)" for a build from a work tree
	Go       string `json:"go"`
	Revision string `json:"revision,omitempty"` // VCS commit, when built from a repository
	Time     string `json:"time,omitempty"`     // VCS commit time
	Modified bool   `json:"modified"`           // built from a tree with uncommitted changes
}

func runVersion(ctx context.Context, c *cli, cmd *command, args []string) error {
	o, pos, err := c.parse(cmd, args, nil)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return badArgs(cmd, "version takes no arguments")
	}
	v := versionJSON{Module: "github.com/getapr/getapr", Version: "unknown"}
	if bi, ok := c.buildInfo(); ok {
		v = versionOf(bi)
	}
	if o.json {
		return writeJSON(c.stdout, v)
	}
	fmt.Fprintf(c.stdout, "getapr %s (%s", v.Version, v.Go)
	if v.Revision != "" {
		fmt.Fprintf(c.stdout, ", revision %s", v.Revision)
		if v.Modified {
			fmt.Fprint(c.stdout, ", modified")
		}
	}
	fmt.Fprintln(c.stdout, ")")
	return nil
}

func versionOf(bi *debug.BuildInfo) versionJSON {
	v := versionJSON{Module: bi.Main.Path, Version: bi.Main.Version, Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}
