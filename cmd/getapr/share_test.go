package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestShareRefused checks that a --share path that sharing would refuse is a
// usage error said on stderr (it was silent: exit 0, and as root /dev/null.lock
// was created), and that no lock file is created.
func TestShareRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("FIFOs and directory modes are Unix")
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := mkfifo(fifo); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(open, 0o777)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	_, devNullLock := os.Lstat("/dev/null.lock")
	tests := []struct{ path, want string }{
		{fifo, "not a regular file"},
		{filepath.Join(open, "pairs.json"), "writable by group or others"},
		{filepath.Join(link, "pairs.json"), "symbolic link"},
		{"/dev/null", "/dev"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := runFake(newScenario(), 0, "status", "--share="+tt.path)
				if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("exit %d, stderr %q; want %d and one line about %q", r.code, r.stderr, exitUsage, tt.want)
				}
			})
			if _, err := os.Lstat(tt.path + ".lock"); !errors.Is(err, os.ErrNotExist) && tt.path != "/dev/null" {
				t.Errorf("lock file created: %v", err)
			}
		})
	}
	if _, err := os.Lstat("/dev/null.lock"); devNullLock != nil && err == nil {
		os.Remove("/dev/null.lock")
		t.Error("/dev/null.lock created")
	}
}

// TestShareCloseError checks that a failure of the backend's Close (the last merge
// of the shared file) is said on stderr.
func TestShareCloseError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fb := newScenario()
		fb.closeErr = errors.New("/x/pairs.json.lock: still locked after 2s")
		r := runFake(fb, 0, "status")
		if r.code != exitOK || r.stderr != "getapr: warning: /x/pairs.json.lock: still locked after 2s\n" {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// TestShareValue checks that --share takes its path only after '=' and that
// "--share PATH" is a usage error that says so: the PATH was taken for an
// argument ("bad port", "takes no arguments", or a host watch then watched).
func TestShareValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pairs.json")
	refused := func(cmd, path string) string {
		return "getapr " + cmd + ": --share takes its path after '=': write --share=" + path + " (see 'getapr " + cmd + " -h')\n"
	}
	tests := []struct {
		args   []string
		code   int
		stderr string
		share  string // backendOptions.Share when the command ran
	}{
		{[]string{"status", "--share", path}, exitUsage, refused("status", path), ""},
		{[]string{"pairs", "server.test", "--share", path}, exitUsage, refused("pairs", path), ""},
		{[]string{"dial", "--share", path, "server.test:443"}, exitUsage, refused("dial", path), ""},
		{[]string{"watch", "--share", "cache.json"}, exitUsage, refused("watch", "cache.json"), ""},
		{[]string{"status", "--share=" + path}, exitOK, "", path},
		{[]string{"pairs", "server.test", "--share=" + path}, exitOK, "", path},
		{[]string{"pairs", "--share", "server.test"}, exitOK, "", mustSharePath(t)},
		{[]string{"lookup", "server.test", "--share", "--json"}, exitOK, "", mustSharePath(t)},
		{[]string{"lookup", "--share", "--", "server.test"}, exitOK, "", mustSharePath(t)},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fb := newScenario()
				r := runFake(fb, time.Second, tt.args...)
				if r.code != tt.code || r.stderr != tt.stderr {
					t.Errorf("%v\nwant exit %d, stderr %q", r, tt.code, tt.stderr)
				}
				if fb.opts.Share != tt.share {
					t.Errorf("sharing %q, want %q", fb.opts.Share, tt.share)
				}
			})
		})
	}
}

// TestShareWithoutCacheDir: a bare --share where the user has no cache
// directory (no $HOME and no $XDG_CACHE_HOME: a systemd service, a
// container, "env -i") was reported as "invalid boolean flag share: neither
// $XDG_CACHE_HOME nor $HOME are defined": the flag is not a boolean the user
// got wrong, the default path is what is missing. It is a usage error that
// names --share, as the other paths --share refuses.
func TestShareWithoutCacheDir(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("os.UserCacheDir reads $XDG_CACHE_HOME and $HOME on Linux")
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	synctest.Test(t, func(t *testing.T) {
		r := runFake(newScenario(), 0, "status", "--share")
		if r.code != exitUsage || strings.Contains(r.stderr, "boolean") || !strings.Contains(r.stderr, "--share: ") {
			t.Errorf("exit %d, stderr %q; want %d and one line naming --share, not a boolean", r.code, r.stderr, exitUsage)
		}
	})
}
