//go:build windows

package fsafe

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// noFollow is added to every checked open. A symbolic link or junction is a
// reparse point; FILE_FLAG_OPEN_REPARSE_POINT opens the point itself rather
// than its target (also when the open may create the file), and the type
// check on the handle then refuses it. Named pipes live outside the file
// system (\\.\pipe\), so no open here can block on one.
const noFollow = syscall.FILE_FLAG_OPEN_REPARSE_POINT

// owner: the ACL of the per-user directories (%LocalAppData%, the profile)
// keeps others out on Windows; mode bits mean nothing there.
func owner(fs.FileInfo) (int, bool) { return 0, false }

func loose(fs.FileInfo) bool { return false }

func openDir(dir string) (*os.File, error) {
	return os.OpenFile(dir, os.O_RDONLY|noFollow, 0)
}

// IsNoSpace tells a write that failed for want of space or quota.
func IsNoSpace(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL) ||
		errors.Is(err, windows.ERROR_DISK_QUOTA_EXCEEDED)
}
