//go:build unix

package probe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openNonblock is added to every open of the shared file and its lock: a FIFO
// planted there must not block the open.
const openNonblock = unix.O_NONBLOCK

// errShareUnsupported is nil: sharing works here.
var errShareUnsupported error

// owner returns the owner of fi (uid and gid), -1 when unknown.
func owner(fi fs.FileInfo) (uid, gid int) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, -1
	}
	return int(st.Uid), int(st.Gid)
}

// checkDir accepts the shared file's directory: it must belong to this user (root
// may use any user's directory) and must not be writable by group or others,
// sticky or not: nobody else may create, replace or remove the files in it.
func checkDir(name string, fi fs.FileInfo) error {
	uid, _ := owner(fi)
	if euid := os.Geteuid(); uid != euid && euid != 0 {
		return fmt.Errorf("share directory %s: owned by uid %d, not by this user (uid %d)", name, uid, euid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("share directory %s: writable by group or others (mode %v); use a directory only its owner can write", name, fi.Mode().Perm())
	}
	return nil
}

// trusted reports whether a file of the shared directory dir may be believed:
// it is ownable, and not writable by group or others. why says why not.
func trusted(fi, dir fs.FileInfo) (ok bool, why string) {
	if ok, why := ownable(fi, dir); !ok {
		return false, why
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return false, fmt.Sprintf("writable by group or others (mode %v)", fi.Mode().Perm())
	}
	return true, ""
}

// ownable reports whether this process may make a file it opened in the shared
// directory dir its own (mode 0600, and the directory owner's: see giveAway):
// the file belongs to this user or to the directory's owner, and has no other
// name. A hard link to a file elsewhere (another user's, which root would then
// chmod, chown and write) is not the shared directory's.
func ownable(fi, dir fs.FileInfo) (ok bool, why string) {
	uid, _ := owner(fi)
	duid, _ := owner(dir)
	switch {
	case uid != os.Geteuid() && uid != duid:
		return false, fmt.Sprintf("owned by uid %d", uid)
	case links(fi) > 1:
		return false, fmt.Sprintf("%d hard links", links(fi))
	}
	return true, ""
}

// links returns fi's hard link count, 1 when unknown.
func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}

// giveAway makes f belong to the directory's owner when root writes into another
// user's directory, so that the user can still replace it.
func giveAway(f *os.File, dir fs.FileInfo) error {
	uid, gid := owner(dir)
	if os.Geteuid() != 0 || uid == 0 {
		return nil
	}
	return f.Chown(uid, gid)
}

// tryLock takes an exclusive flock on f without waiting; ok is false if another
// holds it.
func tryLock(f *os.File) (ok bool, err error) {
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, os.NewSyscallError("flock", err)
	}
	return true, nil
}

func unlockFile(f *os.File) { unix.Flock(int(f.Fd()), unix.LOCK_UN) }
