package kubeconfig

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"

	"github.com/gofrs/flock"
)

// withDirMutex runs fn holding a lock that stands for dir: Windows cannot
// lock a directory, so it is a file in the temporary directory named after
// it.
func withDirMutex(dir string, fn func() error) error {
	abs, _ := filepath.Abs(dir)
	sum := sha256.Sum256([]byte(abs))
	l := flock.New(filepath.Join(os.TempDir(), "kubeiam-kubeconfig-"+hex.EncodeToString(sum[:8])+".lock"))
	if err := l.Lock(); err != nil {
		return err
	}
	defer l.Unlock()
	return fn()
}

// openLockNoFollow: Windows has no FIFOs in the file system, and a
// symbolic link is refused here by looking first (creating one needs a
// privilege users rarely hold).
func openLockNoFollow(name string) (*os.File, error) {
	if fi, err := os.Lstat(name); err != nil {
		return nil, err
	} else if fi.Mode()&os.ModeSymlink != 0 {
		return nil, &os.PathError{Op: "open", Path: name, Err: errors.New("is a symbolic link")}
	}
	return os.Open(name)
}
