package probe

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/windows"
)

// openNonblock is 0: Windows has no FIFOs at a file's path.
const openNonblock = 0

// errShareUnsupported is nil: sharing works here.
var errShareUnsupported error

// checkDir accepts any directory that is not a symbolic link: it lives in the
// user's own profile, protected by its ACL.
func checkDir(string, fs.FileInfo) error { return nil }

// trusted accepts any regular file of the directory: see checkDir.
func trusted(fs.FileInfo, fs.FileInfo) (bool, string) { return true, "" }

// ownable accepts any regular file of the directory: see checkDir.
func ownable(fs.FileInfo, fs.FileInfo) (bool, string) { return true, "" }

// giveAway does nothing: files keep the directory's inherited ACL.
func giveAway(*os.File, fs.FileInfo) error { return nil }

// tryLock takes an exclusive lock on f's first byte without waiting; ok is false if
// another holds it.
func tryLock(f *os.File) (ok bool, err error) {
	err = windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, new(windows.Overlapped))
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return false, nil
	}
	if err != nil {
		return false, os.NewSyscallError("LockFileEx", err)
	}
	return true, nil
}

func unlockFile(f *os.File) {
	windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, new(windows.Overlapped))
}
