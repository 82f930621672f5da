//go:build unix

package kubeconfig

import (
	"context"
	"os"

	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// withDirMutex runs fn holding an exclusive flock on dir: the mutex kubeiam
// processes take to remove a stale lock. The kernel drops it when the
// process dies, and it leaves no file behind. It is held for one look and
// one removal, so the wait needs no context.
func withDirMutex(dir string, fn func() error) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := fsafe.Wait(context.Background(), d, fsafe.Exclusive); err != nil {
		return err
	}
	return fn()
}
