package proc

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// State says whether pid is a running process and when it started
// (field 22 of /proc/PID/stat, clock ticks since boot): a pid the kernel has
// given to a new process since has another start. A zombie is not running.
func State(pid int) (alive bool, start string) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		// Gone, or /proc is not what it should be: ask the kernel.
		return Alive(pid), ""
	}
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses itself: the fields after it start past the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Alive(pid), ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return Alive(pid), ""
	}
	// f[0] is field 3, the state; f[19] is field 22, starttime.
	return f[0] != "Z" && f[0] != "X", f[19]
}
