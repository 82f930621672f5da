package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/flock"
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
	fl := flock.New(c.path(k.ID() + ".lock"))
	ok, err := fl.TryLockContext(ctx, lockRetry)
	if !ok {
		fl.Close()
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("could not lock cache entry: another kubeiam process held it for %s", timeout)
		}
		return nil, fmt.Errorf("could not lock cache entry: %w", err)
	}
	return func() { fl.Close() }, nil
}

// LockPath is the lock file of k, "" when the cache has no directory or is
// off. The front binary takes this lock itself on a miss and hands it to
// kubeiam-core across exec (see internal/execplugin), so that a herd waits
// in small processes instead of starting the heavy one N times; the file is
// the one Lock uses, so both kinds of holder exclude each other.
func (c *Cache) LockPath(k Key) string {
	if c.opts.Backend == None || !c.dirOK {
		return ""
	}
	return c.path(k.ID() + ".lock")
}
