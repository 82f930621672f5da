//go:build !linux

package kubeconfig

import (
	"io/fs"
	"time"
)

func pidNamespace() string { return "" }

// changeTime: not looked up here, so files are always compared byte for byte.
func changeTime(fs.FileInfo) (time.Time, bool) { return time.Time{}, false }
