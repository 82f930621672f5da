//go:build !linux

package proc

import "syscall"

// childAttr: only Linux can tie the command's life to kubeiam's.
func childAttr() *syscall.SysProcAttr { return nil }
