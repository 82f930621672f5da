package proc

import (
	"syscall"
	"unsafe"
)

// foregroundIsMine asks the terminal on stdin for its foreground process
// group (TIOCGPGRP) with syscall alone: golang.org/x/sys/unix would cost
// the front its init.
func foregroundIsMine() bool {
	var fg int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, 0, uintptr(syscall.TIOCGPGRP), uintptr(unsafe.Pointer(&fg)))
	return errno == 0 && int(fg) == syscall.Getpgrp()
}
