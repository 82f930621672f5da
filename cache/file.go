package cache

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/kubeiam/kubeiam/internal/fsafe"
)

// maxFileSize bounds what is read from the cache directory; an entry is a
// few KB, anything larger is not ours.
const maxFileSize = 1 << 20

// DefaultDir is $XDG_CACHE_HOME/kubeiam, else ~/.cache/kubeiam, and
// %LocalAppData%\kubeiam on Windows. macOS uses ~/.cache too rather than
// ~/Library/Caches, so the directory is the same one the docs name everywhere.
func DefaultDir() (string, error) {
	if runtime.GOOS == "windows" {
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "kubeiam"), nil
		}
		return "", errors.New("could not find the cache directory: %LocalAppData% is not set")
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "kubeiam"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("could not find the cache directory: %w", err)
	}
	return filepath.Join(home, ".cache", "kubeiam"), nil
}

// ensureDir creates dir 0700, or checks an existing one: it must be a real
// directory (not a link to one) owned by the user. One the user owns but
// others may write is made private through its own descriptor, so nothing
// outside the cache directory is ever changed.
func ensureDir(dir string) error {
	if _, err := os.Lstat(dir); err != nil {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("could not create cache directory: %w", err)
		}
	}
	return checkDir(dir)
}

// checkDir words fsafe.CheckDir's refusals with the way out.
func checkDir(dir string) error {
	err := fsafe.CheckDir(dir, true)
	var ue *fsafe.UntrustedError
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &ue):
		return fmt.Errorf("could not check cache directory: %w", err)
	case ue.Err == fsafe.ErrSymlink:
		return fmt.Errorf("could not use cache directory %s: it is a symbolic link, which kubeiam does not follow; use the directory it points to (XDG_CACHE_HOME) or remove the link", dir)
	case ue.Err == fsafe.ErrNotOwned:
		return fmt.Errorf("could not use cache directory %s: it is owned by another user (uid %d); remove it or point XDG_CACHE_HOME elsewhere", dir, ue.Owner)
	}
	return fmt.Errorf("could not use cache directory %s: %w", dir, ue.Err)
}

// untrustedCauses are why a file in the cache directory is not trusted.
// Each is its own cause of warning, rate-limited on its own.
var untrustedCauses = []error{fsafe.ErrSymlink, fsafe.ErrNotRegular, fsafe.ErrNotOwned, fsafe.ErrNotPrivate}

// readPrivate reads a cache file: no link followed, no FIFO blocked on,
// only a regular file of the user with mode 0600 or stricter, checked on
// the open descriptor.
func readPrivate(path string) ([]byte, error) {
	return fsafe.ReadFile(path, maxFileSize, fsafe.Owned|fsafe.Private)
}

// writeAtomic writes a cache file (0600): a synced temporary file renamed
// over path — replacing whatever is there, a link, a FIFO, a file of
// another owner, without following it. The directory is not synced: the
// write happens under the entry's lock, which a herd of kubectl calls waits
// on, and a rename lost in a crash costs one re-signed token, nothing more.
func writeAtomic(path string, data []byte) error {
	tmp, err := fsafe.Stage(path, 0o600, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	return fsafe.Rename(tmp, path)
}

// overwriteInPlace rewrites an existing private file without making a new
// one: on a full disk writeAtomic fails (a new file needs new blocks), while
// a small file's own block can still be rewritten; in a read-only directory
// the file may still be writable. Only the state file uses it, where a torn
// write costs an early warning and nothing else.
func overwriteInPlace(path string, data []byte) error {
	f, err := fsafe.OpenFile(path, os.O_WRONLY, 0, fsafe.Owned|fsafe.Private)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(data)))
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
