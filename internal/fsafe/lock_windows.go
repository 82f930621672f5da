//go:build windows

package fsafe

import (
	"context"
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

func flags(m LockMode) uint32 {
	if m == Shared {
		return 0
	}
	return windows.LOCKFILE_EXCLUSIVE_LOCK
}

// tryLock locks f's first byte: LockFileEx locks ranges, and every holder
// locks the same one.
func tryLock(f *os.File, m LockMode) (bool, error) {
	err := windows.LockFileEx(windows.Handle(f.Fd()), flags(m)|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &windows.Overlapped{})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	}
	return false, &os.PathError{Op: "LockFileEx", Path: f.Name(), Err: err}
}

// waitLock polls here: a blocking LockFileEx on a synchronous handle can
// be neither interrupted nor safely abandoned, and no waiter herd runs on
// Windows (the front's lock hand-over needs exec).
func waitLock(ctx context.Context, f *os.File, m LockMode) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.Close()
			return context.Cause(ctx)
		case <-t.C:
		}
		if ok, err := tryLock(f, m); ok || err != nil {
			return err
		}
	}
}
