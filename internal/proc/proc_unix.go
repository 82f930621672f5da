//go:build unix

package proc

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// Alive asks the kernel whether pid exists (EPERM: it does, as another
// user's).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// OwnedByMe says whether fi is owned by the user running kubeiam.
func OwnedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
