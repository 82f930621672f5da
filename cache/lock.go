package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kubeiam/kubeiam/internal/fsafe"
)

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
	unlock, err = fsafe.Lock(ctx, c.lockPath(k), fsafe.Exclusive)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, fmt.Errorf("could not lock cache entry: another kubeiam process held it for %s", timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("could not lock cache entry: %w", err)
	}
	return unlock, nil
}

// LockFile opens k's lock file, without locking it; nil when the cache has
// no directory or is off. The front binary locks it itself on a miss and
// hands it to kubeiam-core across exec (see internal/handover), so that a
// herd waits in small processes instead of starting the heavy one N times;
// the file is the one Lock uses, so both kinds of holder exclude each other.
// A lock file kubeiam cannot have made is replaced (see fsafe.Lock).
func (c *Cache) LockFile(k Key) (*os.File, error) {
	if c.opts.Backend == None || !c.dirOK {
		return nil, nil
	}
	return fsafe.OpenLockFile(c.lockPath(k))
}

func (c *Cache) lockPath(k Key) string { return c.path(k.ID() + ".lock") }
