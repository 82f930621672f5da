package proc

import "syscall"

// childAttr makes the kernel send SIGHUP to the command if kubeiam dies
// first (SIGKILL cannot be caught): a shell then ends as it would when its
// terminal closes, instead of living on with a private kubeconfig the next
// sweep removes.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGHUP}
}
