//go:build unix

package shellenv

import (
	"os"
	"os/exec"
	"syscall"
)

// forwarded are the signals passed on to the command: the ways a terminal,
// a supervisor or a user ends a process.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

func defaultShell(getenv func(string) string) string {
	if sh := getenv("SHELL"); sh != "" {
		return sh
	}
	return "/bin/sh"
}

func signalNumber(ee *exec.ExitError) (int, bool) {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return int(ws.Signal()), true
	}
	return 0, false
}
