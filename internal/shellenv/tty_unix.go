//go:build linux || darwin || freebsd

package shellenv

import (
	"os"
	"syscall"
	"unsafe"
)

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

// foregroundIsMine asks the terminal on stdin for its foreground process
// group (TIOCGPGRP) with syscall alone: golang.org/x/sys/unix would cost
// the front its init.
func foregroundIsMine() bool {
	var fg int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, 0, uintptr(syscall.TIOCGPGRP), uintptr(unsafe.Pointer(&fg)))
	return errno == 0 && int(fg) == syscall.Getpgrp()
}
