package probe

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// tmpPattern names the temporary files: the shared file's name, a random number.
const tmpPattern = ".%s.%016x.tmp"

// shareDir is the shared file's directory, opened once and checked: every file
// operation of a merge is made relative to it (os.Root), so that the directory
// cannot be swapped for another (a symbolic link) between the check and the use.
type shareDir struct {
	name string
	fi   fs.FileInfo // the directory as checked
	root *os.Root
}

// openShareDir creates the directory if needed (mode 0700, parents too) and opens
// it, refusing a symbolic link (ErrSymlink) and what checkDir refuses.
func openShareDir(name string) (*shareDir, error) {
	if errShareUnsupported != nil {
		return nil, &fs.PathError{Op: "share", Path: name, Err: errShareUnsupported}
	}
	if err := os.MkdirAll(name, 0o700); err != nil {
		return nil, err
	}
	fi, err := os.Lstat(name)
	if err == nil {
		err = checkDirInfo(name, fi)
	}
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	if now, err := root.Stat("."); err != nil || !os.SameFile(fi, now) {
		root.Close()
		return nil, fmt.Errorf("share directory %s: replaced while being opened", name)
	}
	return &shareDir{name: name, fi: fi, root: root}, nil
}

// checkDirInfo refuses a directory that is a symbolic link, not a directory, or
// refused by checkDir.
func checkDirInfo(name string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &fs.PathError{Op: "open", Path: name, Err: ErrSymlink}
	case !fi.IsDir():
		return fmt.Errorf("share directory %s: not a directory", name)
	}
	return checkDir(name, fi)
}

// checkFileInfo refuses a symbolic link (ErrSymlink) and anything but a regular
// file at name.
func checkFileInfo(name string, fi fs.FileInfo) error {
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return &fs.PathError{Op: "open", Path: name, Err: ErrSymlink}
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s: not a regular file (%s)", name, fileKind(fi.Mode()))
	}
	return nil
}

// fileKind names the type of a file that is not a regular one, for an error
// ("a directory"), where FileMode.Type's String would say "d---------".
func fileKind(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a device"
	default:
		return "type " + t.String()
	}
}

// CheckSharePath returns the error Share would return at once for path, without
// creating or changing anything: its directory, if it exists, is a symbolic link,
// not a directory, another user's or writable by group or others (on Unix); or the
// shared file, its lock file or its queue file exists and is a symbolic link or not
// a regular file. Share may still fail later (a full disk, a lock held too long).
// The command's --share checks its value with it.
func CheckSharePath(path string) error {
	if errShareUnsupported != nil {
		return &fs.PathError{Op: "share", Path: path, Err: errShareUnsupported}
	}
	path = filepath.Clean(path)
	dir := filepath.Dir(path)
	fi, err := os.Lstat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // Share creates it
	case err != nil:
		return err
	}
	if err := checkDirInfo(dir, fi); err != nil {
		return err
	}
	for _, name := range []string{path, path + lockSuffix, path + queueSuffix} {
		fi, err := os.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		default:
			if err := checkFileInfo(name, fi); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *shareDir) close() { d.root.Close() }

func (d *shareDir) path(name string) string { return filepath.Join(d.name, name) }

// stat returns what is at name without following a symbolic link: nil when
// nothing is there, ErrSymlink for a link, an error for anything but a regular
// file (a FIFO, socket or device is never opened).
func (d *shareDir) stat(name string) (fs.FileInfo, error) {
	fi, err := d.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, err
	}
	if err := checkFileInfo(d.path(name), fi); err != nil {
		return nil, err
	}
	return fi, nil
}

// open opens the regular file name without blocking (O_NONBLOCK) and checks,
// after opening, that it is a regular file and the one at name (not a link).
func (d *shareDir) open(name string, flag int, perm os.FileMode) (*os.File, fs.FileInfo, error) {
	if _, err := d.stat(name); err != nil {
		return nil, nil, err
	}
	f, err := d.root.OpenFile(name, flag|openNonblock, perm)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		var at fs.FileInfo
		at, err = d.stat(name)
		switch {
		case err != nil:
		case !fi.Mode().IsRegular():
			err = fmt.Errorf("%s: not a regular file (%s)", d.path(name), fileKind(fi.Mode()))
		case at == nil || !os.SameFile(fi, at):
			err = fmt.Errorf("%s: replaced while being opened", d.path(name))
		}
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

// openLock opens (creates) the lock file, replacing an untrusted one.
func (d *shareDir) openLock(lname string) (*os.File, error) {
	fi, err := d.stat(lname)
	if err != nil {
		return nil, err
	}
	if fi != nil {
		if ok, _ := trusted(fi, d.fi); !ok {
			// Only root can have put it into a directory checkDir accepts. Two
			// processes replacing it at once may each lock a file of their own;
			// lockOnce sees that unless the second removes the first's new file
			// after the first checked it: then one merge may be lost, and
			// written again by that process's next merge.
			if err := d.root.Remove(lname); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	f, fi, err := d.open(lname, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	// Checked again on what was opened: the directory's owner may have put
	// another file (a hard link) there since the stat above.
	if ok, why := ownable(fi, d.fi); !ok {
		f.Close()
		return nil, fmt.Errorf("%s: %s", d.path(lname), why)
	}
	if err := d.own(f, fi); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// own makes f, a file this process created or opened for writing in the
// directory, mode 0600 and the directory owner's (see giveAway).
func (d *shareDir) own(f *os.File, fi fs.FileInfo) error {
	if fi.Mode().Perm() != 0o600 {
		if err := f.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			return err
		}
	}
	return giveAway(f, d.fi)
}

// create makes a new temporary file for name in the directory (mode 0600, the
// directory owner's), to be renamed over name.
func (d *shareDir) create(name string) (*os.File, string, error) {
	for range 10 {
		tmp := fmt.Sprintf(tmpPattern, name, rand.Uint64())
		f, err := d.root.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		fi, err := f.Stat()
		if err == nil {
			err = d.own(f, fi)
		}
		if err != nil {
			f.Close()
			d.root.Remove(tmp)
			return nil, "", err
		}
		return f, tmp, nil
	}
	return nil, "", errors.New(d.path(name) + ": no unused temporary name")
}
