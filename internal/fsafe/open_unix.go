//go:build unix

package fsafe

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// noFollow is added to every checked open: O_NOFOLLOW makes a symbolic link
// at the path fail the open instead of leading elsewhere (with O_CREAT too,
// so a dangling link never creates its target), and O_NONBLOCK makes a FIFO
// open at once instead of waiting for a writer; the type check that follows
// refuses it. O_NONBLOCK does not change reads, writes or flock(2) on
// regular files.
const noFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// owner is the file's uid.
func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// loose: group or others have some access.
func loose(fi fs.FileInfo) bool { return fi.Mode().Perm()&0o077 != 0 }

func openDir(dir string) (*os.File, error) {
	return os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|noFollow, 0)
}

// IsNoSpace tells a write that failed for want of space or quota.
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
