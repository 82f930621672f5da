package kubeconfig

import (
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"
)

// pidNamespace names this process's pid namespace: a lock from a container
// that shares the host name but not the process table cannot be checked.
func pidNamespace() string {
	ns, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(ns, "pid:["), "]")
}

// changeTime is the inode change time (ctime): unlike mtime, no tool can
// set it back, so it shows a write that restored the old mtime.
func changeTime(fi fs.FileInfo) (time.Time, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(st.Ctim.Sec, st.Ctim.Nsec), true
}
