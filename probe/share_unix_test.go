//go:build unix

package probe_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/getapr/getapr/probe"
)

// special makes a FIFO, a socket or (as root) a character device at name.
func special(t *testing.T, kind, name string) {
	t.Helper()
	var err error
	switch kind {
	case "fifo":
		err = unix.Mkfifo(name, 0o600)
	case "socket":
		var l net.Listener
		if l, err = net.Listen("unix", name); err == nil {
			t.Cleanup(func() { l.Close() })
		}
	case "device":
		if os.Geteuid() != 0 {
			t.Skip("making a device needs root")
		}
		err = unix.Mknod(name, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))) // like /dev/null
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestShareRefusesSpecialFiles puts a FIFO, a socket or a device at the shared
// file's path or at its lock: Share returns an error at once (it hung on a FIFO,
// holding the lock), creates no lock file for a special file at the path, and a
// Sharer on it closes at once.
func TestShareRefusesSpecialFiles(t *testing.T) {
	for _, kind := range []string{"fifo", "socket", "device"} {
		for _, at := range []string{"path", "lock", "queue"} {
			t.Run(kind+" at "+at, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "pairs.json")
				name := map[string]string{"path": path, "lock": path + ".lock", "queue": path + ".queue"}[at]
				special(t, kind, name)
				s := newSharingStore()
				done := make(chan error, 1)
				start := time.Now()
				go func() { done <- s.Share(path) }()
				select {
				case err := <-done:
					t.Logf("Share returned after %v: %v", time.Since(start), err)
					if err == nil || !strings.Contains(err.Error(), "not a regular file") {
						t.Errorf("Share = %v, want a 'not a regular file' error", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("Share hangs")
				}
				if at == "path" {
					if _, err := os.Lstat(path + ".lock"); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("lock file created next to a %s: %v", kind, err)
					}
				}
				sh := probe.NewSharer(s, path)
				closed := make(chan error, 1)
				start = time.Now()
				go func() { closed <- sh.Close() }()
				select {
				case err := <-closed:
					t.Logf("Sharer.Close returned after %v", time.Since(start))
					if err == nil {
						t.Error("Sharer.Close: no error")
					}
				case <-time.After(10 * time.Second):
					t.Fatal("Sharer.Close hangs")
				}
			})
		}
	}
}

// TestShareDirectory checks the rules for the shared file's directory.
func TestShareDirectory(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, parent string) string // returns the directory
		want  string                                   // a part of the error; "" for none
	}{
		{"created 0700", func(t *testing.T, parent string) string { return filepath.Join(parent, "a", "b") }, ""},
		{"0755 of ours", func(t *testing.T, parent string) string { return mkdir(t, parent, 0o755) }, ""},
		{"world-writable", func(t *testing.T, parent string) string { return mkdir(t, parent, 0o777) }, "writable by group or others"},
		{"group-writable", func(t *testing.T, parent string) string { return mkdir(t, parent, 0o770) }, "writable by group or others"},
		{"sticky world-writable", func(t *testing.T, parent string) string {
			return mkdir(t, parent, 0o777|os.ModeSticky)
		}, "writable by group or others"},
		{"symbolic link", func(t *testing.T, parent string) string {
			target := mkdir(t, parent, 0o700)
			link := filepath.Join(parent, "link")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			return link
		}, "symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.setup(t, t.TempDir())
			s := newSharingStore()
			s.Report(outcome(srcA, dstD, probe.Success, time.Millisecond, time.Now()))
			err := s.Share(filepath.Join(dir, "pairs.json"))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Share: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Share = %v, want an error about %q", err, tt.want)
			case tt.want != "":
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("files created in a refused directory: %v", ents)
				}
			}
		})
	}
}

func mkdir(t *testing.T, parent string, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp(parent, "d")
	if err == nil {
		err = os.Chmod(dir, mode)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestShareLockFile checks that a lock file open to others is narrowed to 0600 and
// that a shared file writable by others is not believed (and is replaced).
func TestShareLockFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pairs.json")
	for _, name := range []string{path + ".lock", path} {
		if err := os.WriteFile(name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(name, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	writeShare(t, path, shareDoc(entry(srcA, dstD, time.Millisecond, time.Now(), "")))
	os.Chmod(path, 0o666)
	s := newSharingStore()
	if err := s.Share(path); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Pair(addr(srcA), addr(dstD)); ok {
		t.Error("learned from a file writable by others")
	}
	for _, name := range []string{path + ".lock", path + ".queue", path} {
		if fi, err := os.Stat(name); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", name, fi.Mode(), err)
		}
	}
}

// TestShareRefusesHardLinks checks that a lock or queue file that is a hard
// link to a file outside the shared directory is replaced, not made mode 0600,
// given away or written: the file elsewhere is left as it was.
func TestShareRefusesHardLinks(t *testing.T) {
	for _, suffix := range []string{".lock", ".queue"} {
		t.Run(suffix, func(t *testing.T) {
			outside := filepath.Join(t.TempDir(), "victim")
			const content = "not the share's\n"
			if err := os.WriteFile(outside, []byte(content), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(outside, 0o640); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "pairs.json")
			if err := os.Link(outside, path+suffix); err != nil {
				t.Skipf("cannot make a hard link here: %v", err)
			}
			s := newSharingStore()
			if err := s.Share(path); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(outside)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(outside); fi.Mode().Perm() != 0o640 || string(b) != content {
				t.Errorf("the linked file is now mode %v holding %q; want it untouched", fi.Mode().Perm(), b)
			}
		})
	}
}

// TestShareOtherUsersFiles runs as root: lock and shared files of another user in
// root's directory are replaced (before, the lock file denied service), and in a
// user's directory root leaves files that user owns, so that the user's own
// merges can replace them.
func TestShareOtherUsersFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	const nobody = 65534
	t.Run("foreign files in root's directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "pairs.json")
		writeShare(t, path, shareDoc(entry(srcA, dstD, time.Millisecond, time.Now(), "")))
		for _, name := range []string{path, path + ".lock", path + ".queue"} {
			if name != path {
				if err := os.WriteFile(name, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chown(name, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
		held, err := os.OpenFile(path+".lock", os.O_RDWR, 0) // another user holds it
		if err != nil {
			t.Fatal(err)
		}
		defer held.Close()
		if err := unix.Flock(int(held.Fd()), unix.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		s := newSharingStore()
		if err := s.Share(path); err != nil {
			t.Fatalf("Share: %v", err)
		}
		if _, ok := s.Pair(addr(srcA), addr(dstD)); ok {
			t.Error("learned from another user's file")
		}
		for _, name := range []string{path, path + ".lock", path + ".queue"} {
			if uid := fileUID(t, name); uid != 0 {
				t.Errorf("%s: owned by %d, want replaced by root's", name, uid)
			}
		}
	})
	t.Run("root in a user's directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "user")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "pairs.json")
		s := newSharingStore()
		s.Report(outcome(srcA, dstD, probe.Success, time.Millisecond, time.Now()))
		if err := s.Share(path); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{path, path + ".lock", path + ".queue"} {
			if uid := fileUID(t, name); uid != nobody {
				t.Errorf("%s: owned by %d, want the directory's owner %d", name, uid, nobody)
			}
		}
	})
}

func fileUID(t *testing.T, name string) int {
	t.Helper()
	fi, err := os.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

// TestCheckSharePathNamesTheKind: a path that is not a regular file is refused
// with what it is, not FileMode.Type's "d---------".
func TestCheckSharePathNamesTheKind(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{sub, "not a regular file (a directory)"},
		{os.DevNull, "not a regular file (a character device)"},
	} {
		err := probe.CheckSharePath(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckSharePath(%s) = %v, want it to say %q", tc.path, err, tc.want)
		}
	}
}
