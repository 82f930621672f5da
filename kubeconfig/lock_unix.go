//go:build unix

package kubeconfig

import (
	"errors"
	"os"
	"syscall"
)

// withDirMutex runs fn holding an exclusive flock on dir: the mutex kubeiam
// processes take to remove a stale lock. The kernel drops it when the
// process dies, and it leaves no file behind.
func withDirMutex(dir string, fn func() error) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		return err
	}
	defer syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
	return fn()
}

// openLockNoFollow opens name for reading without following a final
// symbolic link (ELOOP) and without blocking on a FIFO with no writer.
func openLockNoFollow(name string) (*os.File, error) {
	for {
		fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}
