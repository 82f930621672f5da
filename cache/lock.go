package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// lockRetry is how often a waiting process tries the lock again: short
// against a refresh of a few hundred milliseconds, and cheap for a herd of
// 32 processes.
const lockRetry = 10 * time.Millisecond

// Lock takes the cross-process lock of k, waiting at most timeout (or until
// ctx ends). Hold it across read → refresh → write so a herd of cold kubectl
// calls makes one STS call. On error the caller can still go ahead without
// the lock; the cost is a duplicate refresh, never a wrong token. With the
// None backend Lock is a no-op.
func (c *Cache) Lock(ctx context.Context, k Key, timeout time.Duration) (unlock func(), err error) {
	if c.opts.Backend == None || !c.dirOK {
		return func() {}, nil
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	unlock, err = lockFile(ctx, c.lockPath(k))
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("could not lock cache entry: another kubeiam process held it for %s", timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("could not lock cache entry: %w", err)
	}
	return unlock, nil
}

// lockFile opens (see openLockFile) and locks path, polling until ctx ends.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, err
	}
	for {
		ok, err := tryLock(f)
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
			return nil, ctx.Err()
		case <-time.After(lockRetry):
		}
	}
}

// LockFile opens k's lock file, without locking it; nil when the cache has
// no directory or is off. The front binary locks it itself on a miss and
// hands it to kubeiam-core across exec (see internal/handover), so that a
// herd waits in small processes instead of starting the heavy one N times;
// the file is the one Lock uses, so both kinds of holder exclude each other.
func (c *Cache) LockFile(k Key) (*os.File, error) {
	if c.opts.Backend == None || !c.dirOK {
		return nil, nil
	}
	return openLockFile(c.lockPath(k))
}

func (c *Cache) lockPath(k Key) string { return c.path(k.ID() + ".lock") }

// openLockFile opens or creates a lock file through openChecked. Lock files
// are never deleted while they may be in use: removing a lock file someone
// else holds would let a third process lock a fresh inode and refresh in
// parallel. A file kubeiam cannot have made — a link, a FIFO, a file of
// another owner or with a loose mode — is one no kubeiam process locks, so it
// is removed and made anew; two processes repairing it at once cost at most a
// duplicate refresh.
func openLockFile(path string) (*os.File, error) {
	f, err := openChecked(path, os.O_RDWR|os.O_CREATE)
	if err == nil || !untrusted(err) {
		return f, err
	}
	if rerr := os.Remove(path); rerr != nil && !isNotExist(rerr) {
		return nil, err
	}
	return openChecked(path, os.O_RDWR|os.O_CREATE)
}
