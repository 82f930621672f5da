//go:build unix

package proc

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

// deliveredByTerminal: Ctrl-C and Ctrl-\ reach every process of the
// terminal's foreground group — the command as well, since it shares
// kubeiam's — so passing them on would deliver them twice (and make a tool
// that exits hard on a second Ctrl-C do so).
func deliveredByTerminal(sig os.Signal) bool {
	if sig != syscall.SIGINT && sig != syscall.SIGQUIT {
		return false
	}
	return foregroundIsMine()
}

func signalNumber(ee *exec.ExitError) (int, bool) {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return int(ws.Signal()), true
	}
	return 0, false
}
