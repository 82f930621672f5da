//go:build !(linux && amd64)

package seccomptest

import "errors"

// DenyKeyctl is implemented for linux/amd64 only; tests skip elsewhere.
func DenyKeyctl() error { return errors.New("seccomp filter not implemented on this platform") }

// DenyKeyctlThread is implemented for linux/amd64 only.
func DenyKeyctlThread() error { return DenyKeyctl() }
