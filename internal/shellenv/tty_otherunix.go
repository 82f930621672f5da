//go:build unix && !linux && !darwin && !freebsd

package shellenv

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// deliveredByTerminal: see tty_unix.go.
func deliveredByTerminal(sig os.Signal) bool {
	if sig != syscall.SIGINT && sig != syscall.SIGQUIT {
		return false
	}
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && fg == syscall.Getpgrp()
}
