package fsafe

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// LockMode is the kind of lock: many processes may hold a Shared lock at
// once, one holds an Exclusive lock and nobody else any.
type LockMode int

const (
	Exclusive LockMode = iota
	Shared
)

// The locks are flock(2) locks (LockFileEx on Windows): they belong to the
// open file, so they end when it is closed — also when the process dies, so
// a crashed holder never strands one — and they survive exec when the
// descriptor does (the front hands a cache-entry lock to kubeiam-core that
// way). On Unix, asking for the other mode on a file that holds a lock
// converts it.

// TryLock takes the lock on f without waiting; false means another open
// file holds a conflicting one.
func TryLock(f *os.File, m LockMode) (bool, error) { return tryLock(f, m) }

// Wait takes the lock on f, waiting until it is granted or ctx ends (a
// deadline is ctx's). When ctx ends first Wait closes f and returns
// context.Cause(ctx): the request may still be granted later (see
// waitLock), and a closed file drops such a late lock at once, where an
// open one would hold a lock its owner believes it does not.
func Wait(ctx context.Context, f *os.File, m LockMode) error {
	if ok, err := tryLock(f, m); ok || err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		f.Close()
		return context.Cause(ctx)
	}
	return waitLock(ctx, f, m)
}

// Lock opens the lock file at path — creating it 0600, refusing links and
// FIFOs, demanding a private file of the user — and takes the lock,
// waiting until ctx ends. The returned unlock closes the file.
//
// Lock files are never deleted while they may be in use: removing a file
// someone else holds would let a third process lock a fresh inode and
// work in parallel. A file kubeiam cannot have made (an UntrustedError: a
// link, a FIFO, a file of another owner or with a loose mode) is one no
// kubeiam process locks, so it is removed and made anew; two processes
// repairing it at once cost one overlap, once.
//
// Lock polls (TryLock every lockRetry) where Wait blocks: it serves
// library callers and long-lived processes, and a wait that times out
// leaves nothing behind — no goroutine or thread parked in flock(2) until
// the holder lets go.
func Lock(ctx context.Context, path string, m LockMode) (unlock func(), err error) {
	f, err := OpenLockFile(path)
	if err != nil {
		return nil, err
	}
	for {
		ok, err := tryLock(f, m)
		if ok {
			return func() { f.Close() }, nil
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, context.Cause(ctx)
		case <-time.After(lockRetry):
		}
	}
}

// lockRetry is how often Lock tries again: short against a token refresh
// of a few hundred milliseconds, and cheap for a herd of 32 processes.
const lockRetry = 10 * time.Millisecond

// OpenLockFile opens or creates the lock file at path without locking it,
// replacing one kubeiam cannot have made (see Lock).
func OpenLockFile(path string) (*os.File, error) {
	f, err := OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600, Owned|Private)
	if err == nil || !Untrusted(err) {
		return f, err
	}
	if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		return nil, err
	}
	return OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600, Owned|Private)
}

// LockTimeout is Lock(ctx, path, Exclusive) waiting at most timeout (0:
// until ctx ends), with errors that say so: "could not lock <path>:
// another kubeiam process held it for <timeout>".
func LockTimeout(ctx context.Context, path string, timeout time.Duration) (unlock func(), err error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	unlock, err = Lock(ctx, path, Exclusive)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("could not lock %s: another kubeiam process held it for %s", path, timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("could not lock %s: %w", path, err)
	}
	return unlock, nil
}
