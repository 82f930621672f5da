//go:build unix

package front

import (
	"os"
	"syscall"
)

// execve replaces the process: no second process to wait on, stdin and the
// terminal stay with kubeiam-core for MFA prompts, signals reach it directly.
func execve(path string, args []string) error {
	return syscall.Exec(path, args, os.Environ())
}
