package kubeconfig

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"

	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// withDirMutex runs fn holding a lock that stands for dir: Windows cannot
// lock a directory, so it is a file in the temporary directory named after
// it.
func withDirMutex(dir string, fn func() error) error {
	abs, _ := filepath.Abs(dir)
	sum := sha256.Sum256([]byte(abs))
	unlock, err := fsafe.Lock(context.Background(), filepath.Join(os.TempDir(), "kubeiam-kubeconfig-"+hex.EncodeToString(sum[:8])+".lock"), fsafe.Exclusive)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}
