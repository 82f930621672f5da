package kubeconfig

import (
	"bytes"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// processState says whether pid is a running process and when it started
// (field 22 of /proc/PID/stat, clock ticks since boot): a pid the kernel has
// given to a new process since has another start. A zombie is not running.
func processState(pid int) (alive bool, start string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		// Gone, or /proc is not what it should be: ask the kernel.
		return pidAlive(pid), ""
	}
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses itself: the fields after it start past the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return pidAlive(pid), ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return pidAlive(pid), ""
	}
	// f[0] is field 3, the state; f[19] is field 22, starttime.
	return f[0] != "Z" && f[0] != "X", f[19]
}

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
