//go:build unix && !linux

package proc

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// foregroundIsMine: see tty_linux.go; elsewhere through x/sys/unix, which
// calls ioctl as each system wants it (through libc on macOS).
func foregroundIsMine() bool {
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && fg == syscall.Getpgrp()
}
