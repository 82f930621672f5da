//go:build unix

package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// noFollow is added to every open in the cache directory: O_NOFOLLOW makes
// a symbolic link at the path fail the open instead of leading elsewhere
// (with O_CREAT too, so a dangling link never creates its target), and
// O_NONBLOCK makes a FIFO open at once instead of waiting for a writer; the
// type check that follows refuses it. O_NONBLOCK does not change reads,
// writes or flock(2) on regular files.
const noFollow = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// checkOwner refuses files of another user and files others may read or
// write.
func checkOwner(fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return errNotOwned
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return errNotPrivate
	}
	return nil
}

// checkDir accepts a directory the user owns, not reached through a
// symbolic link, and makes it private through its own descriptor (fchmod),
// so a link swapped in meanwhile cannot redirect the chmod.
func checkDir(dir string) error {
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|noFollow, 0)
	if err != nil {
		if fi, lerr := os.Lstat(dir); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("could not use cache directory %s: it is a symbolic link, which kubeiam does not follow; use the directory it points to (XDG_CACHE_HOME) or remove the link", dir)
		}
		if errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("could not use cache directory %s: not a directory", dir)
		}
		return fmt.Errorf("could not check cache directory: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("could not check cache directory: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("could not use cache directory %s: it is owned by another user (uid %d); remove it or point XDG_CACHE_HOME elsewhere", dir, st.Uid)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o700); err != nil {
			return fmt.Errorf("could not make cache directory private: %w", err)
		}
	}
	return nil
}

// tryLock takes an exclusive flock(2) on f without waiting; false means
// another process holds it.
func tryLock(f *os.File) (bool, error) {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch err {
		case nil:
			return true, nil
		case syscall.EWOULDBLOCK:
			return false, nil
		case syscall.EINTR:
			continue
		}
		return false, err
	}
}

// isNoSpace tells a write that failed for want of space or quota.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
