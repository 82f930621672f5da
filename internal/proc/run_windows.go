package proc

import (
	"os"
	"os/exec"
)

// forwarded: Windows has only Ctrl-C, which reaches every process of the
// console anyway.
var forwarded = []os.Signal{os.Interrupt}

func defaultShell(getenv func(string) string) string {
	if sh := getenv("SHELL"); sh != "" {
		return sh
	}
	if sh := getenv("ComSpec"); sh != "" {
		return sh
	}
	return "cmd.exe"
}

func deliveredByTerminal(os.Signal) bool { return true }

func signalNumber(*exec.ExitError) (int, bool) { return 0, false }
