//go:build !linux

package kubeconfig

import (
	"io/fs"
	"time"
)

// processState: without /proc, liveness is all there is to know.
func processState(pid int) (alive bool, start string) { return pidAlive(pid), "" }

func pidNamespace() string { return "" }

// changeTime: not looked up here, so files are always compared byte for byte.
func changeTime(fs.FileInfo) (time.Time, bool) { return time.Time{}, false }
