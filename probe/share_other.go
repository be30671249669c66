//go:build !unix && !windows

package probe

import (
	"errors"
	"io/fs"
	"os"
)

// Sharing needs file locks, which this system does not offer.

const openNonblock = 0

var errShareUnsupported = errors.ErrUnsupported

func checkDir(string, fs.FileInfo) error { return errors.ErrUnsupported }

func trusted(fs.FileInfo, fs.FileInfo) (bool, string) { return false, "unsupported" }

func ownable(fs.FileInfo, fs.FileInfo) (bool, string) { return false, "unsupported" }

func giveAway(*os.File, fs.FileInfo) error { return errors.ErrUnsupported }

func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }

func unlockFile(*os.File) {}
