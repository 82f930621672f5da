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
