//go:build !unix && !windows

package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Systems without links or FIFOs in the Unix sense (Plan 9, WASI, js):
// plain opens, and no cross-process lock (Lock reports it unsupported and
// callers go ahead without it).
const noFollow = 0

func checkOwner(fs.FileInfo) error { return nil }

func checkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("could not check cache directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("could not use cache directory %s: not a directory", dir)
	}
	return nil
}

func tryLock(*os.File) (bool, error) { return false, errors.ErrUnsupported }

func isNoSpace(error) bool { return false }
