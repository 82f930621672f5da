//go:build windows

package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// noFollow is added to every open in the cache directory. A symbolic link
// or junction is a reparse point; FILE_FLAG_OPEN_REPARSE_POINT opens the
// point itself rather than its target (also when the open may create the
// file), and the type check on the handle then refuses it. Named pipes live
// outside the file system (\\.\pipe\), so no open here can block on one.
const noFollow = syscall.FILE_FLAG_OPEN_REPARSE_POINT

// checkOwner trusts the ACL of the per-user directory on Windows
// (%LocalAppData% is private to the user); mode bits mean nothing there.
func checkOwner(fs.FileInfo) error { return nil }

// checkDir accepts a real directory: not a symbolic link, junction or other
// reparse point.
func checkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("could not check cache directory: %w", err)
	}
	switch {
	case fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0:
		return fmt.Errorf("could not use cache directory %s: it is a link or junction, which kubeiam does not follow; remove it", dir)
	case !fi.IsDir():
		return fmt.Errorf("could not use cache directory %s: not a directory", dir)
	}
	return nil
}

// tryLock takes an exclusive lock on f's first byte without waiting; false
// means another process holds it.
func tryLock(f *os.File) (bool, error) {
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &windows.Overlapped{})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	}
	return false, err
}

// isNoSpace tells a write that failed for want of space or quota.
func isNoSpace(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL) ||
		errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED)
}
