//go:build unix

package kubeconfig

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// pidAlive asks the kernel whether pid exists (EPERM: it does, as another
// user's).
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

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

// ownedByMe says whether fi is owned by the user running kubeiam.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
