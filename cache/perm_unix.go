//go:build unix

package cache

import (
	"io/fs"
	"os"
	"syscall"
)

func checkPrivate(fi fs.FileInfo) error {
	if fi.Mode().Perm()&0o077 != 0 {
		return errNotPrivate
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return errNotOwned
	}
	return nil
}
